"""Schedules and their fires in the context store.

Exactly-once firing rests on one row per (schedule, fire time): `claim` inserts it (a second
scheduler racing for the same fire inserts nothing) and holds it under a lease; `finish` closes it
only for the lease holder; `retake` hands a fire whose holder died (lease lapsed) or that was
deferred (tenant busy) to another scheduler. The schedule row remembers the newest fire time
claimed or skipped, so the next fire is computed after it, across restarts.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, and_, case, delete, insert, or_, select, update

from core.clock import Clock
from core.errors import NotFound
from core.ids import new_id
from core.schedule_records import Misfire, Schedule, ScheduleFire, UnreadableSchedule
from core.store.audit import write_audit
from core.store.database import Database
from core.store.schema import schedule_fires, schedules
from core.store.sql import insert_ignore

_FIRE_FIELDS = tuple(ScheduleFire.__dataclass_fields__)


def schedule_from_row(row: Any) -> Schedule:
    r = row._mapping
    return Schedule(
        id=r["id"],
        tenant_id=r["tenant_id"],
        owner_id=r["owner_id"],
        bot=r["bot"],
        kind=r["kind"],
        cron=r["cron"],
        interval_s=r["interval_s"],
        timezone=r["timezone"],
        target=dict(r["target"]),
        prompt=r["prompt"],
        params=dict(r["params"] or {}),
        enabled=bool(r["enabled"]),
        misfire=Misfire(r["misfire"]),
        grace_s=r["grace_s"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        name=r["name"],
        disabled_reason=r["disabled_reason"],
        last_fire_at=r["last_fire_at"],
    )


def _fire(row: Any) -> ScheduleFire:
    return ScheduleFire(**{name: row._mapping[name] for name in _FIRE_FIELDS})


class ScheduleStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    # -- the timetable ------------------------------------------------------------------------

    async def create(self, schedule: Schedule, *, actor_user_id: str) -> Schedule:
        """Store a new schedule (already validated) and audit who created it."""
        now = self._clock.now()
        created = replace(
            schedule,
            id=schedule.id or new_id("sch"),
            created_at=now,
            updated_at=now,
            last_fire_at=now,  # the first fire is the first one due after creation
        )

        def write(conn: Connection) -> None:
            conn.execute(insert(schedules).values(**_row(created)))
            write_audit(
                conn,
                tenant_id=created.tenant_id,
                action="schedule.created",
                now=now,
                actor_user_id=actor_user_id,
                detail=_describe(created),
            )

        await self._db.run(write)
        return created

    async def get(self, tenant_id: str, schedule_id: str) -> Schedule:
        stmt = select(schedules).where(schedules.c.tenant_id == tenant_id, schedules.c.id == schedule_id)
        row = await self._db.run(lambda conn: conn.execute(stmt).first())
        if row is None:
            raise NotFound(f"no schedule {schedule_id}")
        return schedule_from_row(row)

    async def find(self, tenant_id: str, *, owner_id: str | None = None, limit: int = 200) -> list[Schedule]:
        stmt = select(schedules).where(schedules.c.tenant_id == tenant_id)
        if owner_id is not None:
            stmt = stmt.where(schedules.c.owner_id == owner_id)
        stmt = stmt.order_by(schedules.c.created_at, schedules.c.id).limit(limit)
        rows = await self._db.run(lambda conn: conn.execute(stmt).all())
        return [schedule_from_row(r) for r in rows]

    async def set_enabled(
        self,
        tenant_id: str,
        schedule_id: str,
        enabled: bool,
        *,
        actor_user_id: str | None,
        reason: str | None = None,
    ) -> Schedule:
        """Pause or resume (audited). Resuming starts from now: fires missed while paused are not owed."""
        row = await self._db.run(
            lambda conn: self._switch(conn, tenant_id, schedule_id, enabled, actor_user_id, reason)
        )
        if row is None:
            raise NotFound(f"no schedule {schedule_id}")
        return schedule_from_row(row)

    async def set_aside(self, tenant_id: str, schedule_id: str, reason: str) -> bool:
        """Disable a schedule the scheduler cannot handle (audited as "schedule.disabled"), without
        reading it back: its row may be one this release cannot read. False if it is gone."""
        row = await self._db.run(lambda conn: self._switch(conn, tenant_id, schedule_id, False, None, reason))
        return row is not None

    def _switch(
        self,
        conn: Connection,
        tenant_id: str,
        schedule_id: str,
        enabled: bool,
        actor_user_id: str | None,
        reason: str | None,
    ) -> Any:
        now = self._clock.now()
        values: dict[str, Any] = {"enabled": int(enabled), "disabled_reason": reason, "updated_at": now}
        if enabled:
            values["last_fire_at"] = now
        row = conn.execute(
            update(schedules)
            .where(schedules.c.tenant_id == tenant_id, schedules.c.id == schedule_id)
            .values(**values)
            .returning(*schedules.c)
        ).first()
        if row is not None:
            # Paused by a person, or disabled by the system (its target is gone, say).
            action = (
                "schedule.resumed" if enabled else "schedule.paused" if actor_user_id else "schedule.disabled"
            )
            detail = {"schedule_id": schedule_id, **({"reason": reason} if reason else {})}
            write_audit(
                conn, tenant_id=tenant_id, action=action, now=now, actor_user_id=actor_user_id, detail=detail
            )
        return row

    async def delete(self, tenant_id: str, schedule_id: str, *, actor_user_id: str) -> None:
        now = self._clock.now()

        def write(conn: Connection) -> int:
            owned = and_(schedules.c.tenant_id == tenant_id, schedules.c.id == schedule_id)
            if conn.execute(select(schedules.c.id).where(owned)).first() is None:
                return 0
            conn.execute(delete(schedule_fires).where(schedule_fires.c.schedule_id == schedule_id))
            conn.execute(delete(schedules).where(owned))
            write_audit(
                conn,
                tenant_id=tenant_id,
                action="schedule.deleted",
                now=now,
                actor_user_id=actor_user_id,
                detail={"schedule_id": schedule_id},
            )
            return 1

        if not await self._db.run(write):
            raise NotFound(f"no schedule {schedule_id}")

    async def active(self) -> list[Schedule | UnreadableSchedule]:
        """Every enabled schedule of every tenant. For the scheduler only: it serves all tenants,
        and each fire it makes runs as the schedule's owner inside that owner's tenant."""
        stmt = select(schedules).where(schedules.c.enabled == 1).order_by(schedules.c.id)
        rows = await self._db.run(lambda conn: conn.execute(stmt).all())
        return [_readable(r) for r in rows]

    # -- fires -----------------------------------------------------------------------------------

    async def claim(
        self, schedule: Schedule, fire_at: float, *, owner: str, lease_s: float
    ) -> ScheduleFire | None:
        """Take this fire. None when another scheduler already has (or had) it."""
        return await self._record(schedule, fire_at, status="pending", owner=owner, lease_s=lease_s)

    async def skip(self, schedule: Schedule, fire_at: float, reason: str) -> bool:
        """Record a missed fire as skipped (so the timetable moves past it). False if already recorded."""
        fire = await self._record(schedule, fire_at, status="skipped", owner=None, lease_s=0.0, error=reason)
        return fire is not None

    async def _record(
        self,
        schedule: Schedule,
        fire_at: float,
        *,
        status: str,
        owner: str | None,
        lease_s: float,
        error: str | None = None,
    ) -> ScheduleFire | None:
        # A fire time is a whole second: it travels through datetimes and the run's idempotency
        # key, and a fraction would no longer match its own row afterwards.
        fire_at = float(math.floor(fire_at))
        now = self._clock.now()
        fire = ScheduleFire(
            id=new_id("fir"),
            tenant_id=schedule.tenant_id,
            schedule_id=schedule.id,
            fire_at=fire_at,
            status=status,
            owner=owner,
            lease_until=now + lease_s,
            attempts=1 if status == "pending" else 0,
            error=error,
        )

        def write(conn: Connection) -> bool:
            row = {name: getattr(fire, name) for name in _FIRE_FIELDS} | {
                "created_at": now,
                "updated_at": now,
            }
            inserted = insert_ignore(conn, schedule_fires, row)
            newer = case(
                (or_(schedules.c.last_fire_at.is_(None), schedules.c.last_fire_at < fire_at), fire_at),
                else_=schedules.c.last_fire_at,
            )
            conn.execute(update(schedules).where(schedules.c.id == schedule.id).values(last_fire_at=newer))
            return inserted

        return fire if await self._db.run(write) else None

    async def retake(self, *, owner: str, lease_s: float, limit: int = 50) -> list[ScheduleFire]:
        """Pending fires whose lease lapsed (a scheduler died, or the fire was deferred), now ours."""

        def write(conn: Connection) -> list[Any]:
            now = self._clock.now()
            lapsed = and_(schedule_fires.c.status == "pending", schedule_fires.c.lease_until <= now)
            ids = [
                r.id
                for r in conn.execute(
                    select(schedule_fires.c.id)
                    .where(lapsed)
                    .order_by(schedule_fires.c.lease_until)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                ).all()
            ]
            if not ids:
                return []
            return list(
                conn.execute(
                    update(schedule_fires)
                    .where(schedule_fires.c.id.in_(ids), lapsed)
                    .values(
                        owner=owner,
                        lease_until=now + lease_s,
                        attempts=schedule_fires.c.attempts + 1,
                        updated_at=now,
                    )
                    .returning(*schedule_fires.c)
                ).all()
            )

        return [_fire(r) for r in await self._db.run(write)]

    async def finish(
        self, fire: ScheduleFire, status: str, *, run_id: str | None = None, error: str | None = None
    ) -> bool:
        """Close a fire (done | failed). Fenced: False when our lease was lost to another scheduler."""
        values = {"status": status, "error": error, "owner": None} | ({"run_id": run_id} if run_id else {})
        return await self._fenced(fire, values)

    async def attach_run(self, schedule: Schedule, fire_at: float, run_id: str) -> None:
        """Remember the run a fire created (so a failed delivery can find its schedule)."""
        stmt = (
            update(schedule_fires)
            .where(schedule_fires.c.schedule_id == schedule.id, schedule_fires.c.fire_at == fire_at)
            .values(run_id=run_id, updated_at=self._clock.now())
        )
        await self._db.run(lambda conn: conn.execute(stmt))

    async def defer(self, fire: ScheduleFire, after_s: float, reason: str) -> bool:
        """Give the fire back, to be retaken after `after_s` (the tenant is busy): delayed, not lost."""
        values = {"owner": None, "lease_until": self._clock.now() + after_s, "error": reason}
        return await self._fenced(fire, values)

    async def _fenced(self, fire: ScheduleFire, values: dict[str, Any]) -> bool:
        stmt = (
            update(schedule_fires)
            .where(
                schedule_fires.c.id == fire.id,
                schedule_fires.c.status == "pending",
                schedule_fires.c.owner == fire.owner,
                schedule_fires.c.attempts == fire.attempts,
            )
            .values(**values, updated_at=self._clock.now())
            .returning(schedule_fires.c.id)
        )
        return await self._db.run(lambda conn: conn.execute(stmt).first()) is not None

    async def fires(self, tenant_id: str, schedule_id: str, *, limit: int = 100) -> list[ScheduleFire]:
        stmt = (
            select(schedule_fires)
            .where(schedule_fires.c.tenant_id == tenant_id, schedule_fires.c.schedule_id == schedule_id)
            .order_by(schedule_fires.c.fire_at.desc())
            .limit(limit)
        )
        rows = await self._db.run(lambda conn: conn.execute(stmt).all())
        return [_fire(r) for r in reversed(rows)]

    async def fire_for_run(self, tenant_id: str, run_id: str) -> ScheduleFire | None:
        """The fire that created this run, if a schedule did."""
        stmt = select(schedule_fires).where(
            schedule_fires.c.tenant_id == tenant_id, schedule_fires.c.run_id == run_id
        )
        row = await self._db.run(lambda conn: conn.execute(stmt).first())
        return _fire(row) if row is not None else None


def _readable(row: Any) -> Schedule | UnreadableSchedule:
    try:
        return schedule_from_row(row)
    except (TypeError, ValueError, KeyError) as exc:  # one bad row must not hide the others
        return UnreadableSchedule(row.id, row.tenant_id, f"{type(exc).__name__}: {exc}")


def _row(s: Schedule) -> dict[str, Any]:
    return {
        "id": s.id,
        "tenant_id": s.tenant_id,
        "owner_id": s.owner_id,
        "name": s.name,
        "bot": s.bot,
        "kind": s.kind,
        "cron": s.cron,
        "interval_s": s.interval_s,
        "timezone": s.timezone,
        "target": s.target,
        "prompt": s.prompt,
        "params": s.params,
        "enabled": int(s.enabled),
        "disabled_reason": s.disabled_reason,
        "misfire": str(s.misfire),
        "grace_s": s.grace_s,
        "last_fire_at": s.last_fire_at,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _describe(s: Schedule) -> dict[str, Any]:
    when: dict[str, Any] = {"cron": s.cron} if s.cron else {"interval_s": s.interval_s}
    return {
        "schedule_id": s.id,
        "bot": s.bot,
        "kind": s.kind,
        "timezone": s.timezone,
        "target": s.target,
        **when,
    }
