"""Fire times, computed by APScheduler 3's triggers in the schedule's own time zone.

APScheduler is only the calculator here: the store, not an APScheduler job store, remembers what
fired. Two corrections on top of its CronTrigger, both about the autumn DST change, when one
wall-clock hour happens twice:
- a fixed-hour job (e.g. daily at 02:30) fires once, at the first 02:30, as classic cron does;
  jobs with a wildcard hour (hourly) fire in both hours;
- asked for the time after the second 02:30, APScheduler 3.11 can answer that same 02:30 again,
  so we probe on from the next minute until the answer moves forward.
In spring, a wall time that does not exist (02:30 on the day clocks jump to 03:00) fires once,
an hour later in wall time (03:30), which is APScheduler's behaviour and what people expect.

A timing whose fire times fall past the year 9999 (or overflow on the way there) is InvalidInput,
like a timing that never fires again: the caller refuses it, or the scheduler disables it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.errors import InvalidInput
from core.schedule_records import Schedule
from core.schedules import BasicTiming

_MAX_PROBES = 8  # ambiguous-hour corrections per call; two are ever needed
_LOOKBACK_S = (3600, 86_400, 32 * 86_400, 400 * 86_400)


def trigger_for(cron: str | None, interval_s: int | None, timezone: str, start: float) -> BaseTrigger:
    """The APScheduler trigger of a timing; `start` anchors an interval (its first fire is start + interval)."""
    tz = _zone(timezone)
    if cron is not None:
        try:
            return CronTrigger.from_crontab(cron, timezone=tz)
        except ValueError as exc:
            raise InvalidInput(f"cron {cron!r} is not valid: {exc}") from None
    if interval_s is None or interval_s <= 0:
        raise InvalidInput("give exactly one of cron or interval_s")
    # Anchored on a whole second, like every fire time the store records.
    return IntervalTrigger(
        seconds=interval_s, start_date=datetime.fromtimestamp(math.floor(start), UTC), timezone=tz
    )


def next_fire(schedule: Schedule, after: float) -> float | None:
    """The first fire time strictly after `after` (epoch seconds), or None if there is none."""
    try:
        return _next_fire(schedule, after)
    except (ValueError, OverflowError) as exc:  # datetime's range ends with the year 9999
        raise InvalidInput(f"its fire times lie beyond the calendar: {exc}") from None


def _next_fire(schedule: Schedule, after: float) -> float | None:
    trigger = trigger_for(schedule.cron, schedule.interval_s, schedule.timezone, schedule.created_at)
    tz = _zone(schedule.timezone)
    fixed_hour = schedule.cron is not None and not schedule.cron.split()[1].startswith("*")
    probe = datetime.fromtimestamp(after, UTC) + timedelta(microseconds=1)
    for _ in range(_MAX_PROBES):
        found = trigger.get_next_fire_time(None, probe)
        if found is None:
            return None
        at = found.timestamp()
        if at <= after:  # APScheduler went back into the repeated hour: look from the next minute on
            probe = datetime.fromtimestamp((max(after, at) // 60 + 1) * 60, UTC)
            continue
        if fixed_hour and datetime.fromtimestamp(at, tz).fold == 1:  # the repeated hour, second time
            probe = datetime.fromtimestamp(at + 60, UTC)
            continue
        return at
    return None


def latest_due(schedule: Schedule, after: float, until: float) -> float | None:
    """The newest fire time in (after, until], or None. Looks back in growing spans, so a minute
    schedule after a month of downtime costs a few dozen trigger calls, not forty thousand."""
    first = next_fire(schedule, after)
    if first is None:
        raise InvalidInput("it never fires again")
    if first > until:
        return None
    start = after
    for span in _LOOKBACK_S:
        low = until - span
        if low <= after:
            break
        found = next_fire(schedule, low)
        if found is not None and found <= until:
            start = low
            break
    latest, at = first, next_fire(schedule, start)
    while at is not None and at <= until:
        latest, at = at, next_fire(schedule, at)
    return latest


class ApsTiming(BasicTiming):
    """TimingRules with APScheduler's exact cron grammar, for the API, the CLI and the scheduler."""

    def check(self, cron: str | None, interval_s: int | None, timezone: str, *, now: float) -> None:
        super().check(cron, interval_s, timezone, now=now)
        # Computing a fire time, not only building the trigger, is what finds a timing that
        # never fires ("0 0 30 2 *") or fires beyond the year 9999.
        probe = Schedule(
            id="",
            tenant_id="",
            owner_id="",
            bot="",
            kind="",
            cron=cron,
            interval_s=interval_s,
            timezone=timezone,
            target={},
            prompt="",
            created_at=now,
        )
        if next_fire(probe, now) is None:
            raise InvalidInput(f"cron {cron!r} never fires" if cron else "this timing never fires")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}") from None
