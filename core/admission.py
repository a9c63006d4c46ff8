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

from sqlalchemy import Connection

from core import metrics
from core.errors import Busy
from core.lifecycle import RunStatus
from core.records import Principal, Run
from core.steps import Refusal
from core.store import admission as sql
from core.store.admission import ActiveCounts, AdmissionStore, LockMode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    per_user: int | None = 20  # concurrent active runs of one user
    per_tenant: int | None = 500
    busy_depth: int = 200  # runs waiting to start from which a new run is told its place in line
    hard_cap: int | None = 20_000  # active runs of all tenants; beyond it submissions are refused
    hold_s: float = 2.0
    retry_after_s: int = 10


_WAKES = 2  # held runs woken by a run that stops running


class Admission:
    """The policy. Its SQL (counts, row locks, holding and waking runs) is core/store/admission.py;
    `conn` is the caller's transaction, handed through to it."""

    def __init__(self, store: AdmissionStore, limits: Limits) -> None:
        self._store = store
        self._limits = limits
        self._in_flight: int | None = None  # the most starts there can be at once: max_connections

    async def admit(self, who: Principal) -> int | None:
        """Refuse past the hard cap; else the new run's place in line (None: no wait beyond a free worker)."""
        return self._place(await self._store.active_counts(who.tenant_id, who.user_id))

    def admit_in(self, conn: Connection, who: Principal) -> int | None:
        """`admit`, inside the caller's transaction: the submission's own, so ingress pays one trip."""
        return self._place(sql.active_counts(conn, who.tenant_id, who.user_id))

    def _place(self, counts: ActiveCounts) -> int | None:
        limits = self._limits
        if limits.hard_cap is not None and counts.active >= limits.hard_cap:
            metrics.ADMISSIONS.labels("refused").inc()
            raise Busy(
                f"busy: {counts.active} runs are in progress or waiting; try again in {limits.retry_after_s}s",
                retry_after_s=limits.retry_after_s,
            )
        ahead = [
            _behind(counts.user, limits.per_user),
            _behind(counts.tenant, limits.per_tenant),
            counts.queued + 1 if counts.queued >= limits.busy_depth else None,
        ]
        position = max((p for p in ahead if p is not None), default=None)
        metrics.ADMISSIONS.labels("accepted" if position is None else "queued").inc()
        return position

    def gate(
        self, conn: Connection, run: Run, now: float, running: tuple[int, int] | None = None
    ) -> Refusal | None:
        """The lease hook: may this run take a step now? Holds a queued run over its limits.
        `running`: the tenant's and the user's running runs, when the run's row was read with them
        (`limited`); a first look only, counted again under the limits' locks."""
        limits = self._limits
        if run.status is not RunStatus.QUEUED or not self.limited:
            return None
        tenant, user = running if running is not None else sql.running_counts(conn, run)
        if not self._fits(tenant, user):
            return self._hold(conn, run, now)
        if sql.serialises_writers(conn):  # SQLite's writers are serialised already
            return None
        near_user = self._near(conn, user, limits.per_user)
        near_tenant = self._near(conn, tenant, limits.per_tenant)
        sql.lock_limits(conn, run, _mode(limits.per_user, near_user), _mode(limits.per_tenant, near_tenant))
        tenant, user = sql.running_counts(conn, run)  # again, with the starts that went before counted
        # A share-mode start that now finds itself near a limit waits like a held one: its lock
        # would not keep others from overshooting with it.
        shared_near = (not near_user and self._near(conn, user, limits.per_user)) or (
            not near_tenant and self._near(conn, tenant, limits.per_tenant)
        )
        return None if self._fits(tenant, user) and not shared_near else self._hold(conn, run, now)

    @property
    def limited(self) -> bool:
        """Whether any limit holds runs back (else `gate` and `released` do nothing)."""
        return self._limits.per_user is not None or self._limits.per_tenant is not None

    def _hold(self, conn: Connection, run: Run, now: float) -> Refusal:
        sql.hold(conn, run.id, now + self._limits.hold_s)
        log.debug("run held by admission limits", extra={"run_id": run.id, "tenant_id": run.tenant_id})
        return Refusal.HELD

    def _fits(self, tenant: int, user: int) -> bool:
        return _under(user, self._limits.per_user) and _under(tenant, self._limits.per_tenant)

    def _near(self, conn: Connection, count: int, limit: int | None) -> bool:
        """Could starts in flight, unseen by this count, take it past the limit?"""
        if limit is None:
            return False
        if self._in_flight is None:
            self._in_flight = sql.max_connections(conn)
        return count + self._in_flight >= limit

    @property
    def wakes(self) -> int:
        """How many held runs a run that stops running wakes (`released`)."""
        return _WAKES if self.limited else 0

    def released(self, conn: Connection, run: Run, count: int = _WAKES) -> list[str]:
        """The step commit's hook: held runs of this run's tenant (its user's first) that may go
        now that it stopped running, woken in the commit's own transaction."""
        if not self.limited:
            return []
        return sql.wake_held(conn, run, count)

    async def wake(self, run: Run) -> list[str]:
        """`released`, in a transaction of its own, for a run that stopped outside a step's commit."""
        if not self.limited:
            return []
        return await self._store.wake_held(run, _WAKES)


def _behind(active: int, limit: int | None) -> int | None:
    """The place in line of one more run when `active` runs are already in, or None if it fits."""
    return None if limit is None or active < limit else active - limit + 1


def _mode(limit: int | None, near: bool) -> LockMode | None:
    """How a start locks the row of a limit: not at all without one, exclusively near it."""
    if limit is None:
        return None
    return LockMode.EXCLUSIVE if near else LockMode.SHARE


def _under(count: int, limit: int | None) -> bool:
    return limit is None or count < limit
