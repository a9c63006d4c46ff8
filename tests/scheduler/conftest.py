"""A store on a hand-driven clock, schedules in it, and a fire handler that records its fires."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from core.records import Principal
from core.schedule_records import Draft, Schedule
from core.schedules import ScheduleBook
from core.store.context import ContextStore
from scheduler.triggers import ApsTiming

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC).timestamp()  # a Monday, 08:00 UTC


class ManualClock:
    def __init__(self, start: float = T0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class RecordingHandler:
    """Records every fire it is asked for; `block` parks it (a scheduler dying mid-fire)."""

    def __init__(self) -> None:
        self.fires: list[tuple[str, float]] = []
        self.entered = asyncio.Event()
        self.block = False

    async def fire(self, schedule: Schedule, fire_at: datetime) -> None:
        self.entered.set()
        if self.block:
            await asyncio.Event().wait()
        self.fires.append((schedule.id, fire_at.timestamp()))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def timed_store(
    database_url: str, store: ContextStore, clock: ManualClock
) -> AsyncIterator[ContextStore]:
    """The `store` fixture's database (migrated or truncated), opened again on the manual clock."""
    timed = ContextStore.open(database_url, clock)
    yield timed
    await timed.close()


async def add_schedule(store: ContextStore, who: Principal, **fields: Any) -> Schedule:
    values: dict[str, Any] = {
        "bot": "ops",
        "target": {"surface": "slack", "channel": "C0OPS"},
        "prompt": "Post the ops digest",
        **fields,
    }
    return await ScheduleBook(store, ApsTiming()).create(who, Draft(**values))
