"""The outbox: messages to surfaces, recorded in the same transaction as the state they report
and retried until delivered, so a surface outage delays a message instead of losing it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select, update

from core.clock import Clock
from core.ids import new_id
from core.outbound import OutboxItem
from core.store.database import Database
from core.store.schema import outbox
from core.store.sql import insert_ignore


class OutboxStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def put(
        self,
        *,
        tenant_id: str,
        surface: str,
        dedupe_key: str,
        target: dict[str, Any],
        payload: dict[str, Any],
        run_id: str | None = None,
    ) -> bool:
        """Queue a message once per dedupe key. False when that key was queued before."""

        def put(conn: Connection) -> bool:
            now = self._clock.now()
            row = {
                "id": new_id("out"),
                "tenant_id": tenant_id,
                "surface": surface,
                "run_id": run_id,
                "dedupe_key": dedupe_key,
                "target": target,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            return insert_ignore(conn, outbox, row)

        return await self._db.run(put)

    async def claim_due(self, surface: str, *, limit: int = 20, claim_s: float = 30.0) -> list[OutboxItem]:
        """Claim due items for delivery; a crashed deliverer's claim lapses after `claim_s`."""

        def claim(conn: Connection) -> list[Any]:
            now = self._clock.now()
            due = and_(
                outbox.c.surface == surface,
                outbox.c.status == "pending",
                outbox.c.next_attempt_at <= now,
                or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
            )
            candidates = (
                select(outbox.c.id)
                .where(due)
                .order_by(outbox.c.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            ids = [r.id for r in conn.execute(candidates).all()]
            if not ids:
                return []
            claimed = (
                update(outbox)
                .where(outbox.c.id.in_(ids), due)
                .values(claimed_until=now + claim_s)
                .returning(*outbox.c)
            )
            return list(conn.execute(claimed).all())

        rows = sorted(await self._db.run(claim), key=lambda r: r.created_at)
        return [
            OutboxItem(r.id, r.tenant_id, r.surface, r.run_id, r.target, r.payload, r.attempts) for r in rows
        ]

    async def delivered(self, item_id: str, result: dict[str, Any] | None = None) -> None:
        def done(conn: Connection) -> None:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == item_id)
                .values(
                    status="delivered",
                    delivered_at=self._clock.now(),
                    claimed_until=None,
                    result=result,
                    attempts=outbox.c.attempts + 1,
                )
            )

        await self._db.run(done)

    async def result(self, dedupe_key: str) -> dict[str, Any] | None:
        """What the platform answered for a delivered item (None while it is not delivered)."""
        stmt = select(outbox.c.result).where(
            outbox.c.dedupe_key == dedupe_key, outbox.c.status == "delivered"
        )
        value = await self._db.run(lambda conn: conn.execute(stmt).scalar_one_or_none())
        return dict(value) if value is not None else None

    async def retry_later(self, item_id: str, *, delay_s: float, error: str, max_attempts: int = 50) -> None:
        def later(conn: Connection) -> None:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == item_id)
                .values(
                    attempts=outbox.c.attempts + 1,
                    next_attempt_at=self._clock.now() + delay_s,
                    claimed_until=None,
                    last_error=error[:2000],
                    status=case((outbox.c.attempts + 1 >= max_attempts, "dead"), else_="pending"),
                )
            )

        await self._db.run(later)

    async def backlog(self) -> int:
        stmt = select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
        return int(await self._db.run(lambda conn: conn.execute(stmt).scalar_one()))
