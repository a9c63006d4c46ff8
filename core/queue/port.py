"""The queue port. Backends: in-process (the default) and, with a broker configured, Celery."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

# Advances one run by one step; given the queue's own `enqueue` for follow-up nudges.
StepHandler = Callable[[str, Callable[[str], Awaitable[None]]], Awaitable[object]]


class TaskQueue(Protocol):
    async def enqueue(self, run_id: str) -> None:
        """Ask some worker to advance this run. Duplicates are harmless: the lease dedupes."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def depth(self) -> int:
        """Nudges waiting for a worker (as far as this process can tell)."""
        ...
