"""The admission limits' SQL; the policy is core/admission.py. It counts active and running runs,
takes the row locks that order starts, and holds and wakes runs.

The functions run inside the caller's transaction (the submission's, or the step's lease and
commit: see `Admission` in core/store/steps.py), so a start is counted under the run's own row
lock; `AdmissionStore` runs the two that a caller may need in a transaction of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, Integer, String, bindparam, column, text

from core.records import Run
from core.store.database import Database
from core.store.schema import HELD_CONDITION, RUNNING_CONDITION


@dataclass(frozen=True)
class ActiveCounts:
    """Active runs (queued or running) of every tenant, and of the asking tenant and user."""

    active: int
    queued: int
    tenant: int
    user: int


class LockMode(StrEnum):
    """How a start locks its user's or tenant's row. FOR NO KEY UPDATE conflicts with FOR SHARE,
    not with the FOR KEY SHARE that inserts pointing at the row take."""

    SHARE = "SHARE"
    EXCLUSIVE = "NO KEY UPDATE"


# Plain SQL, parsed once: these run on every submission and every run start, and building the
# statements with the expression language cost more CPU than executing them.
_COUNTS = text(
    "SELECT count(*),"
    " coalesce(sum(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0),"
    " coalesce(sum(CASE WHEN tenant_id = :tenant THEN 1 ELSE 0 END), 0),"
    " coalesce(sum(CASE WHEN tenant_id = :tenant AND user_id = :user THEN 1 ELSE 0 END), 0)"
    " FROM runs WHERE status IN ('queued', 'running')"
)
# Row locks that order starts, taken in one statement. Always user, then tenant (the join's row
# marks are locked in the order they are named), so two starts never wait on each other's locks
# in a cycle. A side without a limit is not locked.
_MODES: tuple[LockMode | None, ...] = (None, LockMode.SHARE, LockMode.EXCLUSIVE)


def _lock_sql(user: LockMode | None, tenant: LockMode | None) -> str | None:
    if user and tenant:
        return (
            "SELECT 1 FROM users u, tenants t WHERE u.id = :user AND t.id = :tenant"
            f" FOR {user} OF u FOR {tenant} OF t"
        )
    if user or tenant:
        table, key = ("users", "user") if user else ("tenants", "tenant")
        return f"SELECT 1 FROM {table} WHERE id = :{key} FOR {user or tenant}"
    return None


_LOCKS = {(u, t): text(q) for u in _MODES for t in _MODES if (q := _lock_sql(u, t)) is not None}
_MAX_CONNECTIONS = text("SELECT current_setting('max_connections')::int")
# `_RUNNING` and `_HELD` read only their partial indexes' rows (`ix_runs_running`, `ix_runs_held`).
_RUNNING = text(
    "SELECT count(*), coalesce(sum(CASE WHEN user_id = :user THEN 1 ELSE 0 END), 0)"
    f" FROM runs WHERE {RUNNING_CONDITION} AND tenant_id = :tenant"
)
_HOLD = text("UPDATE runs SET lease_expires_at = :until WHERE id = :run")
_HELD = text(
    f"SELECT id FROM runs WHERE {HELD_CONDITION} AND tenant_id = :tenant"
    " ORDER BY CASE WHEN user_id = :user THEN 0 ELSE 1 END, id LIMIT :count"
)
# `_HELD` and `_WAKE` as one UPDATE, for the step commit's single statement (core/store/fused.py).
WAKE_HELD = (
    text(
        "UPDATE runs SET lease_expires_at = NULL WHERE id IN ("
        f"SELECT id FROM runs WHERE {HELD_CONDITION} AND tenant_id = :b_tenant"
        " ORDER BY CASE WHEN user_id = :b_user THEN 0 ELSE 1 END, id LIMIT :b_wake"
        ") AND status = 'queued' AND lease_owner IS NULL RETURNING id"
    )
    .bindparams(bindparam("b_wake", type_=Integer))
    .columns(column("id", String))
)
_WAKE = text(
    "UPDATE runs SET lease_expires_at = NULL WHERE id IN :ids AND status = 'queued' AND lease_owner IS NULL"
).bindparams(bindparam("ids", expanding=True))


def active_counts(conn: Connection, tenant_id: str, user_id: str) -> ActiveCounts:
    params = {"tenant": tenant_id, "user": user_id}
    active, queued, tenant, user = (int(v) for v in conn.execute(_COUNTS, params).one())
    return ActiveCounts(active, queued, tenant, user)


def running_counts(conn: Connection, run: Run) -> tuple[int, int]:
    """Running runs of the run's tenant, and of its user."""
    tenant, user = conn.execute(_RUNNING, {"tenant": run.tenant_id, "user": run.user_id}).one()
    return int(tenant), int(user)


def serialises_writers(conn: Connection) -> bool:
    """True on SQLite: one writer at a time, so starts cannot overshoot each other."""
    return conn.dialect.name != "postgresql"


def max_connections(conn: Connection) -> int:
    """PostgreSQL's `max_connections`: the most starts there can be in flight at once."""
    return int(conn.execute(_MAX_CONNECTIONS).scalar_one())


def lock_limits(conn: Connection, run: Run, user: LockMode | None, tenant: LockMode | None) -> None:
    """Lock the run's user and tenant rows, each in its mode (None: not at all)."""
    if (statement := _LOCKS.get((user, tenant))) is not None:
        conn.execute(statement, {"user": run.user_id, "tenant": run.tenant_id})


def hold(conn: Connection, run_id: str, until: float) -> None:
    """Put a queued run to sleep until `until`: the sweeper and duplicate nudges skip it."""
    conn.execute(_HOLD, {"until": until, "run": run_id})


def wake_held(conn: Connection, run: Run, count: int) -> list[str]:
    """Wake up to `count` held runs of the run's tenant, its user's first; their ids."""
    params = {"tenant": run.tenant_id, "user": run.user_id, "count": count}
    ids = [str(i) for i in conn.execute(_HELD, params).scalars()]
    if ids:
        conn.execute(_WAKE, {"ids": ids})
    return ids


class AdmissionStore:
    """The admission queries that run in a transaction of their own."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def active_counts(self, tenant_id: str, user_id: str) -> ActiveCounts:
        return await self._db.run(lambda conn: active_counts(conn, tenant_id, user_id))

    async def wake_held(self, run: Run, count: int) -> list[str]:
        return await self._db.run(lambda conn: wake_held(conn, run, count))
