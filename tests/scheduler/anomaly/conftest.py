"""Anomaly-check fixtures: a hand-moved clock, a notice renderer that records plain outbox items,
an engine whose registry holds the ops bot, and schedules built as the schedule store keeps them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from bots.ops import bot as ops_bot
from bots.support import bot as support_bot
from core.bots import BotRegistry
from core.engine.notifier import RunNotifier
from core.engine.worker import StepWorker, WorkerOptions
from core.model.port import ModelClient
from core.notices import Notice
from core.outbound import Outbound
from core.queue.inprocess import InProcessQueue
from core.runtime import Runtime
from core.schedule_records import Schedule
from core.store.context import ContextStore
from scheduler.anomaly.demo import CHECK_PARAMS
from tests.core.engine.harness import Engine

SURFACE = "test"
BOTS = BotRegistry([ops_bot, support_bot])


class ManualClock:
    def __init__(self, now: float | None = None) -> None:
        self.t = now if now is not None else time.time()

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class PlainNotices:
    """A notice renderer for a surface without markup: the notice's fields, as they are."""

    def render(self, notice: Notice, replied: Mapping[str, Any] | None) -> list[Outbound]:
        payload = {
            "op": "update" if notice.ref else "post",
            "ref": notice.ref,
            "reply_to": notice.reply_to,
            "replied": dict(replied) if replied else None,
            "title": notice.title,
            "text": notice.text,
            "fields": dict(notice.fields),
            "actions": [a.id for a in notice.actions],
        }
        return [Outbound(notice.key, dict(notice.target), payload)]


def check_schedule(
    tenant_id: str,
    owner_id: str,
    *,
    params: dict[str, Any] | None = None,
    target: dict[str, Any] | None = None,
    schedule_id: str = "sch_check",
) -> Schedule:
    return Schedule(
        id=schedule_id,
        tenant_id=tenant_id,
        owner_id=owner_id,
        bot="ops",
        kind="anomaly",
        cron=None,
        interval_s=60,
        timezone="UTC",
        target=target or {"surface": SURFACE, "channel": "C1"},
        prompt="",
        params=params or CHECK_PARAMS,
    )


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@asynccontextmanager
async def ops_engine(store: ContextStore, model: ModelClient) -> AsyncIterator[Engine]:
    """The engine with the ops bot registered (investigations run it)."""
    notifier = RunNotifier()
    worker = StepWorker(store, BOTS, model, WorkerOptions(), notifier=notifier)
    queue = InProcessQueue(worker.advance, 4)
    await queue.start()
    try:
        yield Engine(Runtime(store, BOTS, queue, notifier), worker, queue)
    finally:
        await queue.stop()


async def until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition never held")
        await asyncio.sleep(0.02)
