"""One tenant's schedule cannot stop the scheduler for the others: a schedule the loop cannot
handle (a row written before today's bounds, a handler failing every fire) is set aside, disabled
with its reason for its owner to read, audited and counted; every other schedule fires on."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Connection, insert, select, text

from core.records import AuditQuery
from core.schedule_records import Schedule
from core.store.context import ContextStore
from core.store.schema import schedules
from scheduler.runner import Scheduler, SchedulerOptions
from tests.conftest import TenantFixture, make_tenant
from tests.scheduler.conftest import T0, ManualClock, RecordingHandler, add_schedule

OPTIONS = SchedulerOptions(tick_s=1.0, lease_s=60.0, jitter_s=20.0, on_time_s=120.0, max_failed_fires=3)


def set_aside(action: str) -> float:
    labels = {"loop": "scheduler", "action": action}
    return REGISTRY.get_sample_value("switchboard_loop_item_failures_total", labels) or 0.0


async def insert_row(store: ContextStore, tenant: TenantFixture, **poison: Any) -> str:
    """A schedule row as an older release (or a hand-written SQL statement) may have left it:
    written as plain SQL, past every check the code makes today."""
    row = {
        "id": "sch_poison",
        "tenant_id": tenant.id,
        "owner_id": tenant.member.user_id,
        "name": "poison",
        "bot": "ops",
        "kind": "digest",
        "cron": None,
        "interval_s": 3600,
        "timezone": "UTC",
        "target": {"surface": "slack", "channel": "C0POISON"},
        "prompt": "p",
        "params": {},
        "enabled": 1,
        "disabled_reason": None,
        "misfire": "skip",
        "grace_s": 300,
        "last_fire_at": T0 - 3600,
        "created_at": T0 - 3600,
        "updated_at": T0 - 3600,
    }

    def write(conn: Connection) -> None:
        conn.execute(insert(schedules).values(**row))
        for column, value in poison.items():
            is_json = column == "target"
            bound = json.dumps(value) if is_json else value
            cast = "CAST(:v AS JSON)" if is_json and conn.dialect.name == "postgresql" else ":v"
            conn.execute(
                text(f"UPDATE schedules SET {column} = {cast} WHERE id = :id"), {"v": bound, "id": row["id"]}
            )

    await store.db.run(write)
    return str(row["id"])


async def state_of(store: ContextStore, schedule_id: str) -> tuple[bool, str | None]:
    """Read as raw columns: the poisoned row may be one the store cannot turn into a Schedule."""
    stmt = select(schedules.c.enabled, schedules.c.disabled_reason).where(schedules.c.id == schedule_id)
    row = await store.db.run(lambda conn: conn.execute(stmt).one())
    return bool(row.enabled), row.disabled_reason


POISONS = [
    pytest.param({"interval_s": 10**12}, id="interval-beyond-year-9999"),
    pytest.param({"last_fire_at": 1e18}, id="last-fire-beyond-year-9999"),
    pytest.param({"created_at": 1e300}, id="created-at-overflow"),
    pytest.param({"misfire": "bogus"}, id="unreadable-misfire"),
    pytest.param({"target": 5}, id="unreadable-target"),
]


@pytest.mark.parametrize("poison", POISONS)
async def test_a_poison_row_is_disabled_and_other_tenants_still_fire(
    timed_store: ContextStore,
    database_url: str,
    clock: ManualClock,
    tenant: TenantFixture,
    poison: dict[str, Any],
) -> None:
    if "interval_s" in poison and database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's INTEGER column cannot even hold this interval")
    poison_id = await insert_row(timed_store, tenant, **poison)
    other = await make_tenant(timed_store, "globex")
    healthy = await add_schedule(timed_store, other.member, cron="0 9 * * *")
    handler = RecordingHandler()
    scheduler = Scheduler(timed_store, {"digest": handler}, OPTIONS)
    before = set_aside("disabled")

    clock.advance(3600 + OPTIONS.jitter_s)
    await scheduler.tick()
    clock.advance(60)
    await scheduler.tick()  # the next round does not trip over it again

    assert handler.fires == [(healthy.id, T0 + 3600)]
    enabled, reason = await state_of(timed_store, poison_id)
    assert not enabled and reason and reason.startswith("the scheduler could not fire it")
    assert set_aside("disabled") == before + 1
    entries = await timed_store.audit.query(tenant.id, AuditQuery())
    assert [e.detail.get("schedule_id") for e in entries if e.action == "schedule.disabled"] == [poison_id]


async def test_a_cron_that_never_fires_again_is_disabled_not_recomputed_every_round(
    timed_store: ContextStore, clock: ManualClock, tenant: TenantFixture
) -> None:
    poison_id = await insert_row(timed_store, tenant, interval_s=None, cron="0 0 30 2 *")
    scheduler = Scheduler(timed_store, {"digest": RecordingHandler()}, OPTIONS)
    clock.advance(60)
    await scheduler.tick()
    [poisoned] = await timed_store.schedules.find(tenant.id)
    assert poisoned.id == poison_id and not poisoned.enabled
    assert "never" in (poisoned.disabled_reason or "")


class FailingHandler:
    """Fails every fire of one schedule, as a handler tripping over that schedule's data would."""

    def __init__(self, poison_id: str) -> None:
        self.poison_id = poison_id
        self.fires: list[str] = []

    async def fire(self, schedule: Schedule, fire_at: datetime) -> None:
        if schedule.id == self.poison_id:
            raise ZeroDivisionError("float division by zero")
        self.fires.append(schedule.id)


async def test_a_schedule_failing_every_fire_is_disabled_after_a_few(
    timed_store: ContextStore, clock: ManualClock, tenant: TenantFixture
) -> None:
    poison = await add_schedule(timed_store, tenant.member, interval_s=60)
    other = await make_tenant(timed_store, "globex")
    healthy = await add_schedule(timed_store, other.member, interval_s=60)
    handler = FailingHandler(poison.id)
    scheduler = Scheduler(timed_store, {"digest": handler}, OPTIONS)
    before = set_aside("disabled")
    for _ in range(6):
        clock.advance(60)
        await scheduler.tick()
    fires = await timed_store.schedules.fires(tenant.id, poison.id)
    assert [f.status for f in fires] == ["failed"] * OPTIONS.max_failed_fires
    disabled = await timed_store.schedules.get(tenant.id, poison.id)
    assert not disabled.enabled and "ZeroDivisionError" in (disabled.disabled_reason or "")
    assert handler.fires.count(healthy.id) >= 5
    assert set_aside("disabled") == before + 1
