"""Alerts and anomaly-check state in the context store. Every read takes the tenant.

Each change is one transaction that updates the alert, queues the notices that tell people
about it (core/notices.py) and writes the audit entry, so a card never announces an alert the
store does not hold, and no change goes unaudited. Concurrent changes are settled by a version
column (compare-and-set): the loser gets a Conflict and nothing of it is written.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Row, or_, select, update

from core.alerts import notices
from core.alerts.lifecycle import LIVE, Alert, AlertStatus, check_transition
from core.clock import Clock
from core.errors import Conflict, NotFound
from core.ids import new_id
from core.notices import Notice, NoticeRenderers
from core.store.audit import write_audit
from core.store.database import Database
from core.store.notices import queue_notice
from core.store.schema import alert_checks, alerts
from core.store.sql import insert_ignore

_FIELDS = tuple(Alert.__dataclass_fields__)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckState:
    state: dict[str, Any]  # the check's own memory (hysteresis streaks, last point seen)
    version: int  # 0: the check never ran
    open_alert_id: str | None


@dataclass(frozen=True)
class NewAlert:
    incident_ts: float
    owner_id: str
    bot: str
    target: dict[str, Any]
    title: str
    metric: str
    detector: str
    value: float
    narration: str


@dataclass(frozen=True)
class Resolve:
    note: str  # what the resolution says, e.g. "back to normal for 3 points"


@dataclass(frozen=True)
class CheckAdvance:
    """One evaluation of a check: its new state and the incidents that opened or resolved, in order."""

    version: int  # the version the evaluation started from
    state: dict[str, Any]
    changes: tuple[NewAlert | Resolve, ...] = ()


@dataclass(frozen=True)
class Advanced:
    opened: tuple[Alert, ...] = ()
    resolved: tuple[Alert, ...] = ()


def alert_from_row(row: Row[Any]) -> Alert:
    data = dict(row._mapping)
    values = {name: data[name] for name in _FIELDS}
    values["status"] = AlertStatus(values["status"])
    values["notified"] = bool(values["notified"])
    return Alert(**values)


class AlertStore:
    def __init__(self, db: Database, clock: Clock, renderers: NoticeRenderers) -> None:
        self._db = db
        self._clock = clock
        self._renderers = renderers

    @property
    def clock(self) -> Clock:
        return self._clock

    async def check(self, tenant_id: str, check_id: str) -> CheckState:
        stmt = select(alert_checks).where(
            alert_checks.c.tenant_id == tenant_id, alert_checks.c.check_id == check_id
        )
        row = await self._db.run(lambda conn: conn.execute(stmt).first())
        if row is None:
            return CheckState({}, 0, None)
        return CheckState(dict(row.state), row.version, row.open_alert_id)

    async def advance(self, tenant_id: str, check_id: str, adv: CheckAdvance) -> Advanced:
        """Record one evaluation. Raises Conflict when another evaluation got there first."""
        return await self._db.run(lambda conn: self._advance(conn, tenant_id, check_id, adv))

    async def get(self, tenant_id: str, alert_id: str) -> Alert:
        return await self._db.run(lambda conn: _get(conn, tenant_id, alert_id))

    async def find(
        self, tenant_id: str, *, check_id: str | None = None, status: AlertStatus | None = None
    ) -> list[Alert]:
        stmt = select(alerts).where(alerts.c.tenant_id == tenant_id)
        if check_id is not None:
            stmt = stmt.where(alerts.c.check_id == check_id)
        if status is not None:
            stmt = stmt.where(alerts.c.status == status.value)
        rows = await self._db.run(lambda conn: conn.execute(stmt.order_by(alerts.c.id)).all())
        return [alert_from_row(r) for r in rows]

    async def recent(self, tenant_id: str, since: float, *, limit: int = 50) -> list[Alert]:
        """Alerts opened or resolved since then, and every one still live, oldest first."""
        stmt = (
            select(alerts)
            .where(
                alerts.c.tenant_id == tenant_id,
                or_(
                    alerts.c.created_at >= since,
                    alerts.c.resolved_at >= since,
                    alerts.c.status != AlertStatus.RESOLVED.value,
                ),
            )
            .order_by(alerts.c.id.desc())
            .limit(limit)
        )
        rows = await self._db.run(lambda conn: conn.execute(stmt).all())
        return [alert_from_row(r) for r in reversed(rows)]

    async def change(
        self,
        tenant_id: str,
        alert_id: str,
        *,
        actor: str,
        action: str,
        to: AlertStatus | None = None,
        values: dict[str, Any] | None = None,
        once: str | None = None,
    ) -> Alert:
        """Move an alert (to a status, and/or set fields), edit its card, audit `action`.
        `once` names a field that may be set only once (a second investigation is a Conflict)."""

        def change(conn: Connection) -> Alert:
            alert = _get(conn, tenant_id, alert_id)
            if to is not None:
                check_transition(alert.status, to)
            if once is not None and getattr(alert, once) is not None:
                raise Conflict(f"this alert's {once.replace('_', ' ')} is already set", code="already_set")
            new = dict(values or {})
            if to is not None:
                new["status"] = to.value
            changed = self._update(conn, alert, new)
            detail = {"alert_id": alert_id, "from": alert.status.value, "to": changed.status.value}
            write_audit(
                conn,
                tenant_id=tenant_id,
                action=action,
                now=changed.updated_at,
                actor_user_id=actor,
                detail=detail | {k: v for k, v in new.items() if k != "status"},
            )
            return changed

        return await self._db.run(change)

    def _advance(self, conn: Connection, tenant_id: str, check_id: str, adv: CheckAdvance) -> Advanced:
        now = self._clock.now()
        found = conn.execute(
            select(alert_checks.c.open_alert_id).where(
                alert_checks.c.tenant_id == tenant_id, alert_checks.c.check_id == check_id
            )
        ).first()
        open_id = found.open_alert_id if found is not None else None
        self._save_state(conn, tenant_id, check_id, adv, now)
        opened: list[Alert] = []
        resolved: list[Alert] = []
        if open_id is not None:
            current = _get(conn, tenant_id, open_id)
            if current.status is AlertStatus.RESOLVED:
                open_id = None
            elif current.status is AlertStatus.SILENCED and (current.silenced_until or 0) <= now:
                back = AlertStatus.ACKNOWLEDGED if current.acked_by else AlertStatus.OPEN
                self._update(conn, current, {"status": back.value})
        for change in adv.changes:
            if isinstance(change, Resolve) and open_id is not None:
                current = _get(conn, tenant_id, open_id)
                if current.status in LIVE:
                    resolved.append(self._resolve(conn, current, change.note, now))
                open_id = None
            elif isinstance(change, NewAlert) and open_id is None:
                alert = self._open(conn, tenant_id, check_id, change, now)
                if alert is not None:
                    opened.append(alert)
                    open_id = alert.id
        conn.execute(
            update(alert_checks)
            .where(alert_checks.c.tenant_id == tenant_id, alert_checks.c.check_id == check_id)
            .values(open_alert_id=open_id)
        )
        return Advanced(tuple(opened), tuple(resolved))

    @staticmethod
    def _save_state(conn: Connection, tenant_id: str, check_id: str, adv: CheckAdvance, now: float) -> None:
        if adv.version == 0:
            row = {
                "tenant_id": tenant_id,
                "check_id": check_id,
                "state": adv.state,
                "version": 1,
                "updated_at": now,
            }
            if not insert_ignore(conn, alert_checks, row):
                raise Conflict("this check was evaluated meanwhile", code="check_moved")
            return
        moved = conn.execute(
            update(alert_checks)
            .where(
                alert_checks.c.tenant_id == tenant_id,
                alert_checks.c.check_id == check_id,
                alert_checks.c.version == adv.version,
            )
            .values(state=adv.state, version=adv.version + 1, updated_at=now)
        )
        if moved.rowcount != 1:
            raise Conflict("this check was evaluated meanwhile", code="check_moved")

    def _open(
        self, conn: Connection, tenant_id: str, check_id: str, new: NewAlert, now: float
    ) -> Alert | None:
        """A new alert; None when this incident was alerted before. A silence still running on
        the check's previous alert covers the new one: recorded, not announced. So is an alert
        for a surface that is not configured."""
        silence = conn.execute(
            select(alerts.c.silenced_until, alerts.c.silenced_by)
            .where(
                alerts.c.tenant_id == tenant_id,
                alerts.c.check_id == check_id,
                alerts.c.silenced_until > now,
            )
            .order_by(alerts.c.silenced_until.desc())
            .limit(1)
        ).first()
        row = {
            "id": new_id("alr"),
            "tenant_id": tenant_id,
            "check_id": check_id,
            **asdict(new),
            "status": (AlertStatus.SILENCED if silence else AlertStatus.OPEN).value,
            "notified": int(silence is None and self._can_show(new.target)),
            "acked_by": None,
            "silenced_by": silence.silenced_by if silence else None,
            "silenced_until": silence.silenced_until if silence else None,
            "investigation_run_id": None,
            "resolved_at": None,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        if not insert_ignore(conn, alerts, row):
            return None
        alert = _get(conn, tenant_id, row["id"])
        write_audit(conn, tenant_id=tenant_id, action="alert.opened", now=now, detail=_about(alert))
        self._tell(conn, alert, notices.card(alert), now)
        return alert

    def _resolve(self, conn: Connection, alert: Alert, note: str, now: float) -> Alert:
        resolved = self._update(conn, alert, {"status": AlertStatus.RESOLVED.value, "resolved_at": now})
        write_audit(
            conn, tenant_id=alert.tenant_id, action="alert.resolved", now=now, detail=_about(resolved)
        )
        self._tell(conn, resolved, notices.resolution(resolved, note), now)
        return resolved

    def _update(self, conn: Connection, alert: Alert, values: dict[str, Any]) -> Alert:
        """Compare-and-set on the version; the card is edited to match."""
        now = self._clock.now()
        row = conn.execute(
            update(alerts)
            .where(
                alerts.c.id == alert.id,
                alerts.c.tenant_id == alert.tenant_id,
                alerts.c.version == alert.version,
            )
            .values(**values, version=alert.version + 1, updated_at=now)
            .returning(*alerts.c)
        ).first()
        if row is None:
            raise Conflict("the alert changed meanwhile; try again", code="alert_moved")
        changed = alert_from_row(row)
        self._tell(conn, changed, notices.card_update(changed), now)
        return changed

    def _can_show(self, target: dict[str, Any]) -> bool:
        """An alert for a surface that is not configured is recorded, never lost, and not shown."""
        surface = str(target.get("surface") or "")
        if surface not in self._renderers:
            log.warning("alerts for surface %r cannot be shown: it is not configured", surface)
            return False
        return True

    def _tell(self, conn: Connection, alert: Alert, notice: Notice, now: float) -> None:
        if alert.notified:
            queue_notice(conn, alert.tenant_id, notice, self._renderers, now)


def _get(conn: Connection, tenant_id: str, alert_id: str) -> Alert:
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id, alerts.c.tenant_id == tenant_id)).first()
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return alert_from_row(row)


def _about(alert: Alert) -> dict[str, Any]:
    return {"alert_id": alert.id, "check_id": alert.check_id, "metric": alert.metric, "value": alert.value}
