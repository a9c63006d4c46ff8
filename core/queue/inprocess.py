"""The embedded queue: asyncio tasks inside the service process."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.queue.port import StepHandler

log = logging.getLogger(__name__)


class InProcessQueue:
    def __init__(self, handler: StepHandler, concurrency: int = 8) -> None:
        self._handler = handler
        self._concurrency = concurrency
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()  # a run waits in the queue at most once
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0

    async def enqueue(self, run_id: str) -> None:
        if run_id in self._queued:
            return
        self._queued.add(run_id)
        self._queue.put_nowait(run_id)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"step-worker-{i}") for i in range(self._concurrency)
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def depth(self) -> int:
        return self._queue.qsize()

    def idle(self) -> bool:
        return self._queue.empty() and self._busy == 0

    async def _work(self) -> None:
        while True:
            run_id = await self._queue.get()
            self._queued.discard(run_id)
            self._busy += 1
            try:
                await self._handler(run_id, self.enqueue)
            except Exception:  # a worker task must survive any one step
                log.exception("step handler failed", extra={"run_id": run_id})
            finally:
                self._busy -= 1
                self._queue.task_done()
