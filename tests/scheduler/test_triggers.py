"""Fire times across the Europe/Berlin DST changes (29 March and 25 October 2026), computed by
APScheduler's triggers with our corrections, and walked by the scheduler on a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.errors import InvalidInput
from core.schedule_records import Schedule
from core.store.context import ContextStore
from scheduler.runner import Scheduler, SchedulerOptions
from scheduler.triggers import ApsTiming, latest_due, next_fire
from tests.conftest import TenantFixture
from tests.scheduler.conftest import T0, ManualClock, RecordingHandler, add_schedule

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(cron: str) -> Schedule:
    return Schedule(
        id="sch_t", tenant_id="t", owner_id="u", bot="ops", kind="digest", cron=cron, interval_s=None,
        timezone="Europe/Berlin", target={}, prompt="p",
    )  # fmt: skip


def walk(schedule: Schedule, start: datetime, count: int) -> list[str]:
    at, out = start.timestamp(), []
    for _ in range(count):
        found = next_fire(schedule, at)
        assert found is not None
        at = found
        out.append(datetime.fromtimestamp(at, BERLIN).strftime("%a %d.%m. %H:%M %Z"))
    return out


def test_daily_0230_on_spring_forward_fires_once_an_hour_later() -> None:
    fires = walk(berlin("30 2 * * *"), datetime(2026, 3, 27, 12, tzinfo=UTC), 4)
    assert fires == [
        "Sat 28.03. 02:30 CET",
        "Sun 29.03. 03:30 CEST",
        "Mon 30.03. 02:30 CEST",
        "Tue 31.03. 02:30 CEST",
    ]


def test_daily_0230_on_fall_back_fires_once_not_twice() -> None:
    fires = walk(berlin("30 2 * * *"), datetime(2026, 10, 23, 12, tzinfo=UTC), 4)
    assert fires == [
        "Sat 24.10. 02:30 CEST",
        "Sun 25.10. 02:30 CEST",
        "Mon 26.10. 02:30 CET",
        "Tue 27.10. 02:30 CET",
    ]


def test_hourly_jobs_run_in_both_repeated_hours() -> None:
    fires = walk(berlin("30 * * * *"), datetime(2026, 10, 24, 23, 0, tzinfo=UTC), 4)
    assert fires == [
        "Sun 25.10. 01:30 CEST",
        "Sun 25.10. 02:30 CEST",
        "Sun 25.10. 02:30 CET",
        "Sun 25.10. 03:30 CET",
    ]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (
            datetime(2026, 3, 26, 12, tzinfo=UTC),
            ["Fri 27.03. 09:00 CET", "Mon 30.03. 09:00 CEST", "Tue 31.03. 09:00 CEST"],
        ),
        (
            datetime(2026, 10, 22, 12, tzinfo=UTC),
            ["Fri 23.10. 09:00 CEST", "Mon 26.10. 09:00 CET", "Tue 27.10. 09:00 CET"],
        ),
    ],
)
def test_weekday_0900_keeps_local_time_across_both_changes(start: datetime, expected: list[str]) -> None:
    assert walk(berlin("0 9 * * mon-fri"), start, 3) == expected
    utc_hours = [datetime.fromtimestamp(t, UTC).hour for t in _times(berlin("0 9 * * mon-fri"), start, 3)]
    assert utc_hours[0] != utc_hours[-1]  # the UTC hour moves with the offset; the local one does not


def _times(schedule: Schedule, start: datetime, count: int) -> list[float]:
    at, out = start.timestamp(), []
    for _ in range(count):
        at = next_fire(schedule, at) or 0.0
        out.append(at)
    return out


def test_latest_due_after_long_downtime_is_cheap_and_right() -> None:
    every_minute = berlin("* * * * *")
    until = datetime(2026, 7, 1, 12, 0, 30, tzinfo=UTC).timestamp()
    assert latest_due(every_minute, until - 40 * 86_400, until) == until - 30


def test_bad_timings_are_refused_with_a_reason() -> None:
    for cron, tz in (("61 * * * *", "UTC"), ("0 9 * *", "UTC"), ("0 9 * * *", "Mars/Olympus")):
        with pytest.raises(InvalidInput):
            ApsTiming().check(cron, None, tz, now=T0)


async def test_the_scheduler_fires_the_0230_schedule_once_through_the_fall_back_night(
    timed_store: ContextStore, clock: ManualClock, tenant: TenantFixture
) -> None:
    clock.t = datetime(2026, 10, 24, 20, 0, tzinfo=UTC).timestamp()
    daily = await add_schedule(timed_store, tenant.member, cron="30 2 * * *", timezone="Europe/Berlin")
    handler = RecordingHandler()
    scheduler = Scheduler(timed_store, {"digest": handler}, SchedulerOptions(jitter_s=0.0))
    end = datetime(2026, 10, 25, 8, 0, tzinfo=UTC).timestamp()
    while clock.now() < end:
        clock.advance(300)
        await scheduler.tick()
    assert [datetime.fromtimestamp(t, BERLIN).strftime("%H:%M %Z") for _, t in handler.fires] == [
        "02:30 CEST"
    ]
    assert handler.fires[0][0] == daily.id
