"""Backpressure: how much work is let in, and how much of it runs at once.

- At submission (`admit`): past the hard cap on active runs (all tenants) the run is refused with
  `Busy` (HTTP 429 with Retry-After). Otherwise it is recorded; when its user or tenant is at
  its limit of concurrent runs, or many runs are waiting to start, it is told its place in line.
  One aggregate query over the active runs; nothing is written, so ingress stays fast.
- At lease time (`gate`, the step store's hook): a queued run may start only while its user and
  its tenant are under their limits. This is where the limit is enforced, not at submission:
  every step of every worker passes through the lease, inside the run's own row lock, and a
  lease expires by itself when a worker dies, so the count is always the database's truth and
  heals without help. Each run holds at most one lease, so a tenant's limit on running runs is
  also its limit on steps in flight: one tenant cannot fill every worker and starve the others.
- Concurrent starts cannot overshoot a limit, and they queue on each other only near one. Every
  start on PostgreSQL locks its user's and its tenant's row before it counts: in share mode
  while the count is below the limit by more than the server's `max_connections`, exclusively
  nearer the limit. Share-mode starts can overshoot each other only by as many as are in flight
  at once, each holding a connection, so they stay within the limit; an exclusive start waits for
  them and counts them. Locking every start exclusively, as this once did, queued every start of
  a busy tenant behind the others' transactions: 128 ms of lock wait per start, measured at
  1,000 runs in flight. SQLite serialises its writers anyway.
- A held run sleeps in the database (`lease_expires_at` set, no owner): the sweeper and
  duplicate nudges skip it. When a step's commit takes a run of its tenant out of the running
  state, `released` wakes the oldest held runs in that commit; `hold_s` later they are looked
  at anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, text

from core import metrics
from core.errors import Busy
from core.lifecycle import RunStatus
from core.records import Principal, Run
from core.steps import Refusal
from core.store.database import Database
from core.store.schema import HELD_CONDITION, RUNNING_CONDITION

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    per_user: int | None = 20  # concurrent active runs of one user
    per_tenant: int | None = 500
    busy_depth: int = 200  # runs waiting to start from which a new run is told its place in line
    hard_cap: int | None = 20_000  # active runs of all tenants; beyond it submissions are refused
    hold_s: float = 2.0
    retry_after_s: int = 10


# Plain SQL, parsed once: these run on every submission and every run start, and building the
# statements with the expression language cost more CPU than executing them.
_COUNTS = text(
    "SELECT count(*),"
    " coalesce(sum(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0),"
    " coalesce(sum(CASE WHEN tenant_id = :tenant THEN 1 ELSE 0 END), 0),"
    " coalesce(sum(CASE WHEN tenant_id = :tenant AND user_id = :user THEN 1 ELSE 0 END), 0)"
    " FROM runs WHERE status IN ('queued', 'running')"
)
# Row locks that order starts (see the module's docstring), taken in one statement. FOR NO KEY
# UPDATE conflicts with FOR SHARE, not with the FOR KEY SHARE that inserts pointing at the row
# take. Always user, then tenant (the join's row marks are locked in the order they are named),
# so two starts never wait on each other's locks in a cycle. A side without a limit is not locked.
_Mode = str | None  # "SHARE", "NO KEY UPDATE", or None
_MODES: tuple[_Mode, ...] = (None, "SHARE", "NO KEY UPDATE")


def _lock_sql(user: _Mode, tenant: _Mode) -> str | None:
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
_WAKE = text(
    "UPDATE runs SET lease_expires_at = NULL WHERE id IN :ids AND status = 'queued' AND lease_owner IS NULL"
).bindparams(bindparam("ids", expanding=True))


class Admission:
    def __init__(self, db: Database, limits: Limits) -> None:
        self._db = db
        self._limits = limits
        self._in_flight: int | None = None  # the most starts there can be at once: max_connections

    async def admit(self, who: Principal) -> int | None:
        """Refuse past the hard cap; else the new run's place in line (None: no wait beyond a free worker)."""
        return await self._db.run(lambda conn: self.admit_in(conn, who))

    def admit_in(self, conn: Connection, who: Principal) -> int | None:
        """`admit`, inside the caller's transaction: the submission's own, so ingress pays one trip."""
        params = {"tenant": who.tenant_id, "user": who.user_id}
        active, queued, tenant, user = (int(v) for v in conn.execute(_COUNTS, params).one())
        limits = self._limits
        if limits.hard_cap is not None and active >= limits.hard_cap:
            metrics.ADMISSIONS.labels("refused").inc()
            raise Busy(
                f"busy: {active} runs are in progress or waiting; try again in {limits.retry_after_s}s",
                retry_after_s=limits.retry_after_s,
            )
        ahead = [
            _behind(user, limits.per_user),
            _behind(tenant, limits.per_tenant),
            queued + 1 if queued >= limits.busy_depth else None,
        ]
        position = max((p for p in ahead if p is not None), default=None)
        metrics.ADMISSIONS.labels("accepted" if position is None else "queued").inc()
        return position

    def gate(self, conn: Connection, run: Run, now: float) -> Refusal | None:
        """The lease hook: may this run take a step now? Holds a queued run over its limits."""
        limits = self._limits
        if run.status is not RunStatus.QUEUED or not self._limited:
            return None
        tenant, user = self._running(conn, run)
        if not self._fits(tenant, user):
            return self._hold(conn, run, now)
        if conn.dialect.name != "postgresql":  # SQLite's writers are serialised already
            return None
        near_user = self._near(conn, user, limits.per_user)
        near_tenant = self._near(conn, tenant, limits.per_tenant)
        self._lock(conn, run, _mode(limits.per_user, near_user), _mode(limits.per_tenant, near_tenant))
        tenant, user = self._running(conn, run)  # again, with the starts that went before counted
        # A share-mode start that now finds itself near a limit waits like a held one: its lock
        # would not keep others from overshooting with it.
        shared_near = (not near_user and self._near(conn, user, limits.per_user)) or (
            not near_tenant and self._near(conn, tenant, limits.per_tenant)
        )
        return None if self._fits(tenant, user) and not shared_near else self._hold(conn, run, now)

    @property
    def _limited(self) -> bool:
        return self._limits.per_user is not None or self._limits.per_tenant is not None

    def _hold(self, conn: Connection, run: Run, now: float) -> Refusal:
        conn.execute(_HOLD, {"until": now + self._limits.hold_s, "run": run.id})
        log.debug("run held by admission limits", extra={"run_id": run.id, "tenant_id": run.tenant_id})
        return Refusal.HELD

    def _fits(self, tenant: int, user: int) -> bool:
        return _under(user, self._limits.per_user) and _under(tenant, self._limits.per_tenant)

    @staticmethod
    def _running(conn: Connection, run: Run) -> tuple[int, int]:
        tenant, user = conn.execute(_RUNNING, {"tenant": run.tenant_id, "user": run.user_id}).one()
        return int(tenant), int(user)

    @staticmethod
    def _lock(conn: Connection, run: Run, user: _Mode, tenant: _Mode) -> None:
        if (statement := _LOCKS.get((user, tenant))) is not None:
            conn.execute(statement, {"user": run.user_id, "tenant": run.tenant_id})

    def _near(self, conn: Connection, count: int, limit: int | None) -> bool:
        """Could starts in flight, unseen by this count, take it past the limit?"""
        if limit is None:
            return False
        if self._in_flight is None:
            self._in_flight = int(conn.execute(_MAX_CONNECTIONS).scalar_one())
        return count + self._in_flight >= limit

    def released(self, conn: Connection, run: Run, count: int = 2) -> list[str]:
        """The step commit's hook: held runs of this run's tenant (its user's first) that may go
        now that it stopped running, woken in the commit's own transaction."""
        if not self._limited:
            return []
        params = {"tenant": run.tenant_id, "user": run.user_id, "count": count}
        ids = [str(i) for i in conn.execute(_HELD, params).scalars()]
        if ids:
            conn.execute(_WAKE, {"ids": ids})
        return ids

    async def wake(self, run: Run) -> list[str]:
        """`released`, in a transaction of its own, for a run that stopped outside a step's commit."""
        return await self._db.run(lambda conn: self.released(conn, run))


def _behind(active: int, limit: int | None) -> int | None:
    """The place in line of one more run when `active` runs are already in, or None if it fits."""
    return None if limit is None or active < limit else active - limit + 1


def _mode(limit: int | None, near: bool) -> _Mode:
    """How a start locks the row of a limit: not at all without one, exclusively near it."""
    if limit is None:
        return None
    return "NO KEY UPDATE" if near else "SHARE"


def _under(count: int, limit: int | None) -> bool:
    return limit is None or count < limit
