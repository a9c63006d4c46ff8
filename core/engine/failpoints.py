"""Named places where a test can have the worker process die with SIGKILL.

Armed by `EngineSettings.failpoint` ("after_intent" or "after_intent:2" for the second hit).
Unarmed, `hit` is one comparison.
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger(__name__)

NAMES = frozenset(
    {"step_start", "before_intent", "after_intent", "after_call", "before_commit", "after_commit"}
)


class Failpoints:
    def __init__(self, spec: str | None = None) -> None:
        self._name: str | None = None
        self._countdown = 0
        if spec:
            name, _, nth = spec.partition(":")
            if name not in NAMES:
                raise ValueError(f"unknown failpoint {name!r}; known: {', '.join(sorted(NAMES))}")
            self._name, self._countdown = name, int(nth or 1)

    def hit(self, name: str) -> None:
        if name != self._name:
            return
        self._countdown -= 1
        if self._countdown == 0:
            log.warning("failpoint %s reached: killing this process", name)
            os.kill(os.getpid(), signal.SIGKILL)
