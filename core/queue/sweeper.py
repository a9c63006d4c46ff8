"""The sweeper: SQL is the truth, queue messages are nudges. Every few seconds it re-enqueues
active runs nobody holds (new runs whose nudge was lost, runs whose worker died) and expires
approvals and questions nobody answered in time."""

from __future__ import annotations

import logging

from core.clock import Clock
from core.periodic import Periodic
from core.queue.port import TaskQueue
from core.store.decisions import DecisionStore
from core.store.runs import RunStore

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(
        self,
        runs: RunStore,
        decisions: DecisionStore,
        queue: TaskQueue,
        clock: Clock,
        interval_s: float = 2.0,
    ) -> None:
        self._runs = runs
        self._decisions = decisions
        self._queue = queue
        self._clock = clock
        self._periodic = Periodic("sweeper", interval_s, self.sweep, log)

    async def sweep(self) -> int:
        for run in await self._decisions.expire_due():  # expired approvals and questions resume their runs
            await self._queue.enqueue(run.id)
        due = await self._runs.due(self._clock.now())
        for run_id in due:
            await self._queue.enqueue(run_id)
        return len(due)

    async def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
