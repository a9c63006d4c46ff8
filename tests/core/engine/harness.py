"""An engine wired on a real store with the in-process queue and a port-level model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bots.support import bot as support_bot
from core.bots import BotRegistry
from core.engine.notifier import RunNotifier
from core.engine.worker import StepWorker, WorkerOptions
from core.model.port import ModelClient
from core.queue.inprocess import InProcessQueue
from core.runtime import Runtime
from core.store.context import ContextStore
from tests.fakes.approver import auto_approver
from tests.fakes.ledger_bot import bot as ledger_bot


@dataclass
class Engine:
    runtime: Runtime
    worker: StepWorker
    queue: InProcessQueue

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until the queue is empty and no step is in flight."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.queue.idle():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the engine did not settle")
            await asyncio.sleep(0.01)


@asynccontextmanager
async def engine(
    store: ContextStore,
    model: ModelClient,
    *,
    concurrency: int = 4,
    options: WorkerOptions | None = None,
    approve: str | None = None,
) -> AsyncIterator[Engine]:
    """`approve`: a tenant id whose user-tier requests are approved as they appear."""
    bots = BotRegistry([support_bot, ledger_bot])
    notifier = RunNotifier()
    worker = StepWorker(store, bots, model, options or WorkerOptions(), notifier=notifier)
    queue = InProcessQueue(worker.advance, concurrency)
    runtime = Runtime(store, bots, queue, notifier)
    await queue.start()
    try:
        if approve:
            async with auto_approver(store, approve, queue):
                yield Engine(runtime, worker, queue)
        else:
            yield Engine(runtime, worker, queue)
    finally:
        await queue.stop()
