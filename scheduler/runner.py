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

The scheduler serves every tenant, so no one schedule may stop a round: a schedule it cannot
handle (a row it cannot read, a timing it cannot compute, an unexpected error while claiming or
firing, or `max_failed_fires` failed fires in a row) is disabled with the reason, which its owner
reads in the schedule's `disabled_reason`; it is audited, logged once and counted in
`switchboard_loop_item_failures_total`. Only the store being unavailable fails the round.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from core.errors import InvalidInput, NotFound, StoreError
from core.metrics import LOOP_ITEM_FAILURES
from core.periodic import Periodic
from core.ports import SchedulerStore
from core.schedule_records import Misfire, Schedule, ScheduleFire, UnreadableSchedule
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
    max_failed_fires: int = 10  # failed fires in a row that disable a schedule


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
        store: SchedulerStore,
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
        self._reported: set[str] = set()  # schedules set aside by this process: logged once

    async def tick(self) -> int:
        """One pass: take over lapsed fires, then claim and run due ones. Returns fires run."""
        o = self._options
        slots = asyncio.Semaphore(max(1, o.concurrency))
        retaken = await self._store.schedules.retake(
            owner=self.name, lease_s=o.lease_s, limit=o.max_fires_per_tick
        )
        refires = (self._isolated(f.tenant_id, f.schedule_id, self._refire(f)) for f in retaken)
        ran = sum(await asyncio.gather(*(_bounded(slots, r) for r in refires)))
        due = (await self._due())[: max(0, o.max_fires_per_tick - ran)]
        fires = (self._isolated(d.schedule.tenant_id, d.schedule.id, self._fire(d)) for d in due)
        return ran + sum(await asyncio.gather(*(_bounded(slots, f) for f in fires)))

    async def _isolated(self, tenant_id: str, schedule_id: str, work: Awaitable[int]) -> int:
        """One schedule's work; its unexpected failure is its own, never the round's."""
        try:
            return await work
        except StoreError:
            raise  # the store is down for everyone: the round fails, and the next one retries
        except Exception as exc:
            await self._set_aside(tenant_id, schedule_id, f"{type(exc).__name__}: {exc}", exc)
            return 0

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
            if isinstance(schedule, UnreadableSchedule):
                await self._set_aside(
                    schedule.tenant_id, schedule.id, f"its row is unreadable: {schedule.error}"
                )
                continue
            try:
                due = await self._due_one(schedule, now)
            except StoreError:
                raise
            except InvalidInput as exc:
                await self._set_aside(schedule.tenant_id, schedule.id, f"its timing: {exc.message}")
                continue
            except Exception as exc:
                await self._set_aside(schedule.tenant_id, schedule.id, f"{type(exc).__name__}: {exc}", exc)
                continue
            if due is not None:
                found.append(due)
        return sorted(found, key=lambda d: (d.starts_at, d.schedule.id))

    async def _due_one(self, schedule: Schedule, now: float) -> _Due | None:
        offset = jitter(schedule.id, self._options.jitter_s)
        at = latest_due(schedule, schedule.last_fire_at or schedule.created_at, now - offset)
        if at is None:
            return None
        late = now - (at + offset)
        if late > self._options.on_time_s and not (
            schedule.misfire is Misfire.RUN_LATE and now - at <= schedule.grace_s
        ):
            await self._store.schedules.skip(schedule, at, f"missed by {late:.0f} s ({schedule.misfire})")
            log.info(
                "schedule fire skipped", extra={"schedule_id": schedule.id, "tenant_id": schedule.tenant_id}
            )
            return None
        return _Due(schedule, at, at + offset)

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
        except StoreError:
            raise
        except Exception as exc:  # a handler's failure is the fire's, not the scheduler's
            error = f"{type(exc).__name__}: {exc}"
            await self._store.schedules.finish(fire, "failed", error=error)
            log.warning("schedule fire failed", extra={**extra, "error_type": type(exc).__name__})
            await self._after_failure(schedule, error)
            return
        await self._store.schedules.finish(fire, "done")

    async def _after_failure(self, schedule: Schedule, error: str) -> None:
        """A schedule whose last `max_failed_fires` fires all failed is set aside: it would fail
        the same way at every fire, and its owner learns why from the schedule itself."""
        n = self._options.max_failed_fires
        recent = await self._store.schedules.fires(schedule.tenant_id, schedule.id, limit=n)
        if len(recent) >= n and all(f.status == "failed" for f in recent):
            await self._set_aside(
                schedule.tenant_id, schedule.id, f"its last {n} fires failed; the last: {error}"
            )

    async def _set_aside(
        self, tenant_id: str, schedule_id: str, problem: str, exc: BaseException | None = None
    ) -> None:
        """Disable one schedule the loop cannot handle (audited as "schedule.disabled"): the others
        go on. Logged with its traceback once per process, not at every round."""
        extra = {"schedule_id": schedule_id, "tenant_id": tenant_id}
        if schedule_id in self._reported:
            log.debug("schedule still set aside: %s", problem, extra=extra)
        else:
            self._reported.add(schedule_id)
            log.warning("schedule set aside: %s", problem, exc_info=exc, extra=extra)
        reason = f"the scheduler could not fire it: {problem}"[:1000]
        if await self._store.schedules.set_aside(tenant_id, schedule_id, reason):
            LOOP_ITEM_FAILURES.labels("scheduler", "disabled").inc()

    # -- the loop ----------------------------------------------------------------------------------

    async def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()


async def _bounded(slots: asyncio.Semaphore, work: Awaitable[int]) -> int:
    async with slots:
        return await work
