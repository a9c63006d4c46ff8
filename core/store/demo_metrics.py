"""The demo's metric series (`demo_metrics`), which the anomaly demo's SQL source reads through
its own read-only connection, like any deployment's metrics database (scheduler/anomaly/demo.py)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from core.store.database import Database
from core.store.schema import demo_metrics
from core.store.sql import insert_ignore


class DemoMetrics:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def seed(self, tenant_id: str, name: str, points: Sequence[tuple[float, float]]) -> int:
        """Write a series of (time, value) points once per tenant and name: when the series has
        any point already, nothing is written. Returns how many points were written."""

        def write(conn: Connection) -> int:
            seeded = conn.execute(
                select(demo_metrics.c.ts)
                .where(demo_metrics.c.tenant_id == tenant_id, demo_metrics.c.name == name)
                .limit(1)
            ).first()
            if seeded is not None:
                return 0
            rows = [{"tenant_id": tenant_id, "name": name, "ts": ts, "value": value} for ts, value in points]
            return sum(insert_ignore(conn, demo_metrics, row) for row in rows)

        return await self._db.run(write)
