"""The audit log: who did what to which run or tool, queryable per tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from core.clock import Clock
from core.ids import new_id
from core.records import AuditEntry, AuditQuery
from core.store.database import Database
from core.store.schema import audit_log

_INSERT = insert(audit_log)  # built once: every tool step writes an entry (see core.store.sql)


def write_audit(
    conn: Connection,
    *,
    tenant_id: str,
    action: str,
    now: float,
    run_id: str | None = None,
    actor_user_id: str | None = None,
    tool: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an audit entry inside the caller's transaction."""
    conn.execute(
        _INSERT,
        {
            "id": new_id("aud"),
            "tenant_id": tenant_id,
            "run_id": run_id,
            "actor_user_id": actor_user_id,
            "action": action,
            "tool": tool,
            "detail": detail or {},
            "created_at": now,
        },
    )


class AuditStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def record(self, tenant_id: str, action: str, **fields: Any) -> None:
        await self._db.run(
            lambda conn: write_audit(
                conn, tenant_id=tenant_id, action=action, now=self._clock.now(), **fields
            )
        )

    async def query(self, tenant_id: str, q: AuditQuery | None = None) -> list[AuditEntry]:
        q = q or AuditQuery()
        stmt = select(audit_log).where(audit_log.c.tenant_id == tenant_id)
        if q.run_id is not None:
            stmt = stmt.where(audit_log.c.run_id == q.run_id)
        if q.actor_user_id is not None:
            stmt = stmt.where(audit_log.c.actor_user_id == q.actor_user_id)
        if q.tool is not None:
            stmt = stmt.where(audit_log.c.tool == q.tool)
        if q.since is not None:
            stmt = stmt.where(audit_log.c.created_at >= q.since)
        if q.until is not None:
            stmt = stmt.where(audit_log.c.created_at < q.until)
        stmt = stmt.order_by(audit_log.c.id.desc()).limit(q.limit)  # the newest `limit`, shown oldest first
        rows = await self._db.run(lambda conn: conn.execute(stmt).all())
        return [
            AuditEntry(r.id, r.tenant_id, r.run_id, r.actor_user_id, r.action, r.tool, r.detail, r.created_at)
            for r in reversed(rows)
        ]
