"""The firing loop: each tick, find due fires, claim each exactly once in the store, dispatch by kind.

Several schedulers may run against one store. A fire is one row keyed by (schedule, fire time):
whoever inserts it runs it, under a lease; a scheduler that dies mid-fire leaves the row pending
and another takes it over once the lease lapses (`retake`). A handler that cannot fire now
(the tenant is busy) defers the fire: the row goes back with a later lease, delayed, not lost.

A burst (every team's digest at 09:00) is spread two ways: each schedule fires at a fixed offset
within `jitter_s` of its time (derived from its id, so every scheduler agrees on it), and one
tick starts at most `max_fires_per_tick` fires; the rest are still due on the next tick.

Misfires (a fire noticed more than `on_time_s` late, e.g. after downtime) follow the schedule's
policy: `skip` records the missed fire as skipped; `run_late` fires once if still within grace_s.
Only the newest missed fire counts: a day of downtime does not produce a day of digests.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from core.errors import InvalidInput, NotFound
from core.periodic import Periodic
from core.store.context import ContextStore
from core.store.schedule_records import Misfire, Schedule, ScheduleFire
from scheduler.ports import FireDeferred, FireHandler
from scheduler.triggers import latest_due

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchedulerOptions:
    tick_s: float = 1.0
    lease_s: float = 60.0
    jitter_s: float = 30.0
    max_fires_per_tick: int = 50
    on_time_s: float = 120.0
    concurrency: int = 8  # fires of one tick in flight at once (each is a few store round trips)


@dataclass(frozen=True)
class _Due:
    schedule: Schedule
    fire_at: float
    starts_at: float  # fire_at plus the schedule's jitter


def jitter(schedule_id: str, window_s: float) -> float:
    """A schedule's fixed offset in [0, window_s): the same in every scheduler process."""
    if window_s <= 0:
        return 0.0
    digest = hashlib.sha256(schedule_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * window_s


class Scheduler:
    def __init__(
        self,
        store: ContextStore,
        handlers: Mapping[str, FireHandler],
        options: SchedulerOptions | None = None,
        *,
        name: str = "scheduler",
    ) -> None:
        self._store = store
        self._handlers = dict(handlers)
        self._options = options or SchedulerOptions()
        self.name = name
        self._periodic = Periodic(f"scheduler:{self.name}", self._options.tick_s, self.tick, log)

    async def tick(self) -> int:
        """One pass: take over lapsed fires, then claim and run due ones. Returns fires run."""
        o = self._options
        slots = asyncio.Semaphore(max(1, o.concurrency))
        retaken = await self._store.schedules.retake(
            owner=self.name, lease_s=o.lease_s, limit=o.max_fires_per_tick
        )
        ran = sum(await asyncio.gather(*(_bounded(slots, self._refire(f)) for f in retaken)))
        due = (await self._due())[: max(0, o.max_fires_per_tick - ran)]
        return ran + sum(await asyncio.gather(*(_bounded(slots, self._fire(d)) for d in due)))

    async def _fire(self, due: _Due) -> int:
        lease_s = self._options.lease_s
        fire = await self._store.schedules.claim(due.schedule, due.fire_at, owner=self.name, lease_s=lease_s)
        if fire is None:  # another scheduler has it
            return 0
        await self._dispatch(due.schedule, fire)
        return 1

    async def fire_now(self, schedule: Schedule) -> bool:
        """Fire a schedule once at this moment, outside its timetable (the demo's check, so its
        alert is there when `serve` has started rather than a minute later). Claimed like any
        fire; False when another scheduler has this moment already."""
        lease_s = self._options.lease_s
        fire = await self._store.schedules.claim(
            schedule, self._store.clock.now(), owner=self.name, lease_s=lease_s
        )
        if fire is None:
            return False
        await self._dispatch(schedule, fire)
        return True

    async def _due(self) -> list[_Due]:
        now = self._store.clock.now()
        found: list[_Due] = []
        for schedule in await self._store.schedules.active():
            offset = jitter(schedule.id, self._options.jitter_s)
            try:
                at = latest_due(schedule, schedule.last_fire_at or schedule.created_at, now - offset)
            except InvalidInput as exc:
                await self._disable(schedule, f"its timing cannot be computed: {exc.message}")
                continue
            if at is None:
                continue
            late = now - (at + offset)
            if late > self._options.on_time_s and not (
                schedule.misfire is Misfire.RUN_LATE and now - at <= schedule.grace_s
            ):
                await self._store.schedules.skip(schedule, at, f"missed by {late:.0f} s ({schedule.misfire})")
                log.info(
                    "schedule fire skipped",
                    extra={"schedule_id": schedule.id, "tenant_id": schedule.tenant_id},
                )
                continue
            found.append(_Due(schedule, at, at + offset))
        return sorted(found, key=lambda d: (d.starts_at, d.schedule.id))

    async def _refire(self, fire: ScheduleFire) -> int:
        try:
            schedule = await self._store.schedules.get(fire.tenant_id, fire.schedule_id)
        except NotFound:
            return 0  # deleted meanwhile; its fires went with it
        if not schedule.enabled:
            await self._store.schedules.finish(fire, "failed", error="the schedule was disabled")
            return 0
        await self._dispatch(schedule, fire)
        return 1

    async def _dispatch(self, schedule: Schedule, fire: ScheduleFire) -> None:
        handler = self._handlers.get(schedule.kind)
        extra = {"schedule_id": schedule.id, "tenant_id": schedule.tenant_id, "kind": schedule.kind}
        if handler is None:
            await self._store.schedules.finish(fire, "failed", error=f"no handler for kind {schedule.kind!r}")
            log.warning("no fire handler for this kind", extra=extra)
            return
        try:
            await handler.fire(schedule, datetime.fromtimestamp(fire.fire_at, UTC))
        except FireDeferred as exc:
            await self._store.schedules.defer(fire, exc.after_s, str(exc))
            log.info("schedule fire deferred", extra=extra)
            return
        except Exception as exc:  # a handler's failure is the fire's, not the scheduler's
            await self._store.schedules.finish(fire, "failed", error=f"{type(exc).__name__}: {exc}")
            log.warning("schedule fire failed", extra={**extra, "error_type": type(exc).__name__})
            return
        await self._store.schedules.finish(fire, "done")

    async def _disable(self, schedule: Schedule, reason: str) -> None:
        await self._store.schedules.set_enabled(
            schedule.tenant_id, schedule.id, False, actor_user_id=None, reason=reason
        )
        log.warning("schedule disabled", extra={"schedule_id": schedule.id, "tenant_id": schedule.tenant_id})

    # -- the loop ----------------------------------------------------------------------------------

    async def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()


async def _bounded(slots: asyncio.Semaphore, work: Awaitable[int]) -> int:
    async with slots:
        return await work
