"""A coroutine run again and again on the event loop until stopped: the sweeper's sweep, the
scheduler's tick. A failed round is logged and the next one comes as usual: one bad round (a
store outage, an unexpected error) must never end recovery or firing for the process's life.

Stopping lets the round in hand finish (up to `stop_grace_s`, then it is cancelled): a tick cut
between "run submitted" and "fire recorded" would leave that fire to be taken over after its
lease instead of recorded now.

A round that fails the same way again and again (one poison row the loop trips over before its
own isolation can set it aside) logs its traceback once, then only at debug level until the
failure changes or a round succeeds; every failed round is counted in
`switchboard_loop_round_failures_total`, so the log stays readable and the alert still fires."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from core.errors import StoreUnavailable
from core.metrics import LOOP_ROUND_FAILURES


class Periodic:
    def __init__(
        self,
        name: str,
        interval_s: float,
        work: Callable[[], Awaitable[object]],
        log: logging.Logger,
        *,
        stop_grace_s: float = 10.0,
    ) -> None:
        self._name = name
        self._interval_s = interval_s
        self._work = work
        self._log = log
        self._stop_grace_s = stop_grace_s
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_failure: tuple[type[BaseException], str] | None = None

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping.set()
        done, _ = await asyncio.wait({self._task}, timeout=self._stop_grace_s)
        if not done:
            self._log.warning("%s: a round outlived the stop grace; cancelled", self._name)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._work()
                self._last_failure = None
            except StoreUnavailable as exc:  # expected now and then: one line, no traceback
                self._log.warning("%s skipped a round: %s", self._name, exc.message)
            except Exception as exc:
                self._failed(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)

    def _failed(self, exc: Exception) -> None:
        LOOP_ROUND_FAILURES.labels(self._name).inc()
        failure = (type(exc), str(exc))
        if failure != self._last_failure:
            self._log.error("%s failed a round", self._name, exc_info=exc)
        else:
            self._log.debug("%s failed a round again: %s", self._name, exc)
        self._last_failure = failure
