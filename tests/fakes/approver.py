"""A person who approves every pending user-tier request as soon as it appears.

For tests whose subject is durability, not governance: the run still stops at every approval,
as the runtime demands, and resumes through the real decision path.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.engine.notifier import RunNotifier
from core.errors import Conflict
from core.governance.desk import DecisionDesk
from core.queue.port import TaskQueue
from core.records import Principal, Role
from core.store.context import ContextStore


class _NoQueue:
    """Worker processes elsewhere find resumed runs through their sweeper."""

    async def enqueue(self, run_id: str) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def depth(self) -> int:
        return 0


@asynccontextmanager
async def auto_approver(
    store: ContextStore, tenant_id: str, queue: TaskQueue | None = None, interval_s: float = 0.02
) -> AsyncIterator[list[str]]:
    desk = DecisionDesk(store, queue or _NoQueue(), RunNotifier())
    approved: list[str] = []

    async def loop() -> None:
        while True:
            for approval in await store.decisions.approvals(tenant_id, status="pending"):
                requester = Principal(tenant_id, approval.requester_id, Role.MEMBER)
                with contextlib.suppress(Conflict):
                    await desk.decide(requester, approval.id, approve=True)
                    approved.append(approval.tool)
            await asyncio.sleep(interval_s)

    task = asyncio.create_task(loop())
    try:
        yield approved
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
