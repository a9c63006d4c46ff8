"""The schedule store: one row per (schedule, fire time), fenced leases, tenant-scoped reads."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import InvalidInput, NotFound
from core.schedule_records import Draft, Schedule
from core.schedules import ScheduleBook
from core.store.context import ContextStore
from tests.conftest import TenantFixture, make_tenant

DRAFT = Draft(
    bot="ops", prompt="Post the ops digest", cron="0 9 * * *", target={"surface": "slack", "channel": "C1"}
)


async def created(store: ContextStore, tenant: TenantFixture) -> Schedule:
    return await ScheduleBook(store).create(tenant.member, DRAFT)


async def test_a_fire_is_claimed_once_however_many_race_for_it(
    store: ContextStore, tenant: TenantFixture
) -> None:
    schedule = await created(store, tenant)
    claims = await asyncio.gather(
        *(store.schedules.claim(schedule, 1000.0, owner=f"s{i}", lease_s=60) for i in range(8))
    )
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    assert (await store.schedules.get(tenant.id, schedule.id)).last_fire_at == max(
        1000.0, schedule.created_at
    )


async def test_finishing_is_fenced_by_the_lease(store: ContextStore, tenant: TenantFixture) -> None:
    schedule = await created(store, tenant)
    first = await store.schedules.claim(schedule, 1000.0, owner="a", lease_s=0.0)
    assert first is not None
    [taken] = await store.schedules.retake(owner="b", lease_s=60)  # a's lease lapsed
    assert taken.owner == "b" and taken.attempts == 2
    assert not await store.schedules.finish(first, "done")  # a woke up: too late
    assert await store.schedules.finish(taken, "done", run_id="run_1")
    [fire] = await store.schedules.fires(tenant.id, schedule.id)
    assert (fire.status, fire.run_id) == ("done", "run_1")
    assert await store.schedules.retake(owner="c", lease_s=60) == []


async def test_reads_and_changes_are_scoped_to_the_tenant(store: ContextStore, tenant: TenantFixture) -> None:
    schedule = await created(store, tenant)
    other = await make_tenant(store, "globex")
    book = ScheduleBook(store)
    assert await book.list(other.admin) == []
    for change in (book.get, book.pause, book.resume, book.delete):
        with pytest.raises(NotFound):
            await change(other.admin, schedule.id)
    with pytest.raises(NotFound):  # a colleague (not an admin) neither
        await book.pause(tenant.other_member, schedule.id)
    assert [s.id for s in await book.list(tenant.admin)] == [schedule.id]
    paused = await book.pause(tenant.admin, schedule.id)
    assert not paused.enabled and await store.schedules.active() == []
    actions = [e.action for e in await store.audit.query(tenant.id)]
    assert actions == ["schedule.created", "schedule.paused"]


async def test_deleting_a_schedule_removes_its_fires(store: ContextStore, tenant: TenantFixture) -> None:
    schedule = await created(store, tenant)
    await store.schedules.skip(schedule, 1000.0, "missed")
    await ScheduleBook(store).delete(tenant.member, schedule.id)
    assert await store.schedules.fires(tenant.id, schedule.id) == []
    with pytest.raises(NotFound):
        await store.schedules.get(tenant.id, schedule.id)


async def test_the_shape_of_a_schedule_is_checked(store: ContextStore, tenant: TenantFixture) -> None:
    book = ScheduleBook(store)
    bad = [
        Draft(bot="ops", prompt="x", target={"surface": "slack", "channel": "C1"}),
        Draft(bot="ops", prompt="x", cron="0 9 * *", target={"surface": "slack", "channel": "C1"}),
        Draft(bot="ops", prompt="x", interval_s=5, target={"surface": "slack", "channel": "C1"}),
        Draft(
            bot="ops",
            prompt="x",
            cron="0 9 * * *",
            target={"surface": "slack", "channel": "C1", "user": "U1"},
        ),
        Draft(
            bot="ops",
            prompt="x",
            cron="0 9 * * *",
            target={"surface": "slack", "thread": "1.2", "user": "U1"},
        ),
        Draft(bot="ops", prompt="x", cron="0 9 * * *", target={"channel": "C1"}),
        Draft(bot="ops", prompt=" ", cron="0 9 * * *", target={"surface": "slack", "channel": "C1"}),
    ]
    for draft in bad:
        with pytest.raises(InvalidInput):
            await book.create(tenant.member, draft)
    assert await store.schedules.find(tenant.id) == []
