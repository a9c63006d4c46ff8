"""A tenant's activity over a time window: what a daily digest reports on. One read, tenant-scoped."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from core.store.database import Database
from core.store.schema import approvals, runs


@dataclass(frozen=True)
class Activity:
    runs_by_status: dict[str, int] = field(default_factory=dict)
    approvals_by_status: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str, str | None]] = field(default_factory=list)  # (run id, bot, error code)
    cost_usd: float = 0.0

    @property
    def runs(self) -> int:
        return sum(self.runs_by_status.values())


async def activity(
    db: Database, tenant_id: str, since: float, until: float, *, failures: int = 5
) -> Activity:
    """Runs and approvals created in [since, until) in one tenant, with the newest failures."""
    in_runs = (runs.c.tenant_id == tenant_id, runs.c.created_at >= since, runs.c.created_at < until)
    in_approvals = (
        approvals.c.tenant_id == tenant_id,
        approvals.c.created_at >= since,
        approvals.c.created_at < until,
    )

    def read(conn: Connection) -> Activity:
        by_status = conn.execute(
            select(runs.c.status, func.count()).where(*in_runs).group_by(runs.c.status)
        ).all()
        cost = conn.execute(
            select(func.coalesce(func.sum(runs.c.cost_usd), 0.0)).where(*in_runs)
        ).scalar_one()
        decided = conn.execute(
            select(approvals.c.status, func.count()).where(*in_approvals).group_by(approvals.c.status)
        ).all()
        failed = conn.execute(
            select(runs.c.id, runs.c.bot, runs.c.error_code)
            .where(*in_runs, runs.c.status == "failed")
            .order_by(runs.c.created_at.desc())
            .limit(failures)
        ).all()
        return Activity(
            runs_by_status={str(s): int(n) for s, n in by_status},
            approvals_by_status={str(s): int(n) for s, n in decided},
            failures=[(r.id, r.bot, r.error_code) for r in failed],
            cost_usd=float(cost or 0.0),
        )

    return await db.run(read)
