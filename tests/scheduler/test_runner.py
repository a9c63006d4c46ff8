"""The firing loop on a hand-driven clock: exactly once across schedulers and crashes, misfires,
deferral, and bursts spread over ticks."""

from __future__ import annotations

import asyncio
import contextlib

from core.schedule_records import Misfire
from core.store.context import ContextStore
from scheduler.ports import FireDeferred
from scheduler.runner import Scheduler, SchedulerOptions, jitter
from scheduler.triggers import next_fire
from tests.conftest import TenantFixture
from tests.scheduler.conftest import T0, ManualClock, RecordingHandler, add_schedule

OPTIONS = SchedulerOptions(tick_s=1.0, lease_s=60.0, jitter_s=20.0, max_fires_per_tick=50, on_time_s=120.0)


async def test_two_schedulers_racing_for_an_hour_fire_each_fire_exactly_once(
    timed_store: ContextStore, database_url: str, clock: ManualClock, tenant: TenantFixture
) -> None:
    every_5 = await add_schedule(timed_store, tenant.member, cron="*/5 * * * *")
    every_10 = await add_schedule(timed_store, tenant.member, interval_s=600)
    other = ContextStore.open(database_url, clock)  # the second process: its own connections
    handler = RecordingHandler()
    a = Scheduler(timed_store, {"digest": handler}, OPTIONS, name="a")
    b = Scheduler(other, {"digest": handler}, OPTIONS, name="b")
    try:
        end = T0 + 3600
        while clock.now() < end + 60:  # and a minute more, so the last fire's jitter has passed
            clock.advance(15)
            await asyncio.gather(a.tick(), b.tick())
    finally:
        await other.close()

    for schedule in (every_5, every_10):
        due, at = [], next_fire(schedule, schedule.created_at)
        while at is not None and at + jitter(schedule.id, OPTIONS.jitter_s) <= clock.now():
            due.append(at)
            at = next_fire(schedule, at)
        fired = sorted(t for sid, t in handler.fires if sid == schedule.id)
        assert fired == due, schedule.cron or schedule.interval_s
    assert len([f for f in handler.fires if f[0] == every_5.id]) == 12
    assert len([f for f in handler.fires if f[0] == every_10.id]) == 6


async def test_a_scheduler_killed_mid_fire_is_taken_over_after_the_lease_and_fires_once(
    timed_store: ContextStore, clock: ManualClock, tenant: TenantFixture
) -> None:
    schedule = await add_schedule(timed_store, tenant.member, cron="0 9 * * *")
    dying, survivor = RecordingHandler(), RecordingHandler()
    dying.block = True
    a = Scheduler(timed_store, {"digest": dying}, OPTIONS, name="a")
    b = Scheduler(timed_store, {"digest": survivor}, OPTIONS, name="b")
    clock.advance(3600 + jitter(schedule.id, OPTIONS.jitter_s) + 1)  # 09:00 and its jitter

    killed = asyncio.create_task(a.tick())
    await asyncio.wait_for(dying.entered.wait(), 5)
    killed.cancel()  # the process dies holding the claim
    with contextlib.suppress(asyncio.CancelledError):
        await killed

    assert await b.tick() == 0  # the claim is still leased: nobody fires it twice
    clock.advance(OPTIONS.lease_s + 1)
    assert await b.tick() == 1
    assert await b.tick() == 0
    assert survivor.fires == [(schedule.id, T0 + 3600)]
    assert dying.fires == []
    [fire] = await timed_store.schedules.fires(tenant.id, schedule.id)
    assert (fire.status, fire.attempts) == ("done", 2)


async def test_misfire_skip_drops_a_fire_missed_during_downtime(
    timed_store: ContextStore, clock: ManualClock, tenant: TenantFixture
) -> None:
    schedule = await add_schedule(timed_store, tenant.member, cron="0 9 * * *", misfire=Misfire.SKIP)
    handler = RecordingHandler()
    scheduler = Scheduler(timed_store, {"digest": handler}, OPTIONS)
    clock.advance(3 * 3600)  # down from 08:00 to 11:00: the 09:00 fire was missed
    await scheduler.tick()
    assert handler.fires == []
    [fire] = await timed_store.schedules.fires(tenant.id, schedule.id)
    assert (fire.status, fire.fire_at) == ("skipped", T0 + 3600)
    clock.t = T0 + 86_400 + 3600 + OPTIONS.jitter_s  # the next day's 09:00 fires as usual
    await scheduler.tick()
    assert handler.fires == [(schedule.id, T0 + 86_400 + 3600)]


async def test_misfire_run_late_fires_once_within_grace_and_skips_beyond_it(
    timed_store: ContextStore, clock: ManualClock, tenant: TenantFixture
) -> None:
    within = await add_schedule(
        timed_store, tenant.member, cron="0 9 * * *", misfire=Misfire.RUN_LATE, grace_s=3 * 3600
    )
    beyond = await add_schedule(
        timed_store, tenant.member, cron="0 9 * * *", misfire=Misfire.RUN_LATE, grace_s=1800
    )
    hourly = await add_schedule(
        timed_store, tenant.member, cron="0 * * * *", misfire=Misfire.RUN_LATE, grace_s=3600
    )
    handler = RecordingHandler()
    scheduler = Scheduler(timed_store, {"digest": handler}, OPTIONS)
    clock.advance(2 * 3600 + 600)  # down until 10:10: 09:00 (and 10:00 for the hourly one) missed
    await scheduler.tick()
    await scheduler.tick()
    assert sorted(handler.fires) == sorted([(within.id, T0 + 3600), (hourly.id, T0 + 7200)])
    assert [f.status for f in await timed_store.schedules.fires(tenant.id, beyond.id)] == ["skipped"]


async def test_a_deferred_fire_is_retried_not_lost(
    timed_store: ContextStore, clock: ManualClock, tenant: TenantFixture
) -> None:
    schedule = await add_schedule(timed_store, tenant.member, cron="0 9 * * *")

    class BusyOnce(RecordingHandler):
        async def fire(self, s, fire_at):  # type: ignore[no-untyped-def]
            if not self.entered.is_set():
                self.entered.set()
                raise FireDeferred("tenant busy", after_s=30)
            await super().fire(s, fire_at)

    handler = BusyOnce()
    scheduler = Scheduler(timed_store, {"digest": handler}, OPTIONS)
    clock.advance(3600 + OPTIONS.jitter_s)
    await scheduler.tick()
    assert handler.fires == []
    clock.advance(10)
    await scheduler.tick()
    assert handler.fires == []  # not before its retry time
    clock.advance(25)
    await scheduler.tick()
    assert handler.fires == [(schedule.id, T0 + 3600)]


async def test_a_burst_is_spread_over_ticks_and_jitter(
    timed_store: ContextStore, clock: ManualClock, tenant: TenantFixture
) -> None:
    for _ in range(30):
        await add_schedule(timed_store, tenant.member, cron="0 9 * * *")
    handler = RecordingHandler()
    options = SchedulerOptions(jitter_s=60.0, max_fires_per_tick=10, on_time_s=600.0)
    scheduler = Scheduler(timed_store, {"digest": handler}, options)
    clock.advance(3600)
    per_tick = []
    for _ in range(12):
        clock.advance(10)
        per_tick.append(await scheduler.tick())
    assert sum(per_tick) == 30
    assert max(per_tick) <= 10
    assert len([n for n in per_tick if n]) >= 4  # spread, not all in the first tick


async def test_unknown_kind_and_invalid_timing_fail_visibly(
    timed_store: ContextStore, clock: ManualClock, tenant: TenantFixture
) -> None:
    odd = await add_schedule(timed_store, tenant.member, cron="0 9 * * *", kind="weather")
    scheduler = Scheduler(timed_store, {"digest": RecordingHandler()}, OPTIONS)
    clock.advance(3600 + OPTIONS.jitter_s)
    await scheduler.tick()
    [fire] = await timed_store.schedules.fires(tenant.id, odd.id)
    assert fire.status == "failed" and "weather" in (fire.error or "")
