"""Leases, fencing, session turns and the atomic step commit, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from core.clock import Clock
from core.errors import StaleLease
from core.lifecycle import RunStatus
from core.records import NewEvent
from core.steps import Lease, RecordedCall, Refusal, StepOutcome
from core.store.context import ContextStore
from core.store.runs import opening_and_window
from tests.conftest import TenantFixture
from tests.core.store.test_runs import new_run


class ManualClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t


def with_clock(store: ContextStore, clock: Clock) -> None:
    for part in (store.steps, store.runs):
        part._clock = clock  # type: ignore[attr-defined]


def step(status: RunStatus = RunStatus.RUNNING, n: int = 1) -> StepOutcome:
    return StepOutcome(status=status, state={"n": n}, events=[NewEvent("Test", {"n": n})])


async def submit(store: ContextStore, t: TenantFixture, **kw: object) -> str:
    run = (await store.runs.submit(new_run(t, **kw))).run
    assert run is not None
    return run.id


async def test_only_one_worker_gets_the_lease(store: ContextStore, tenant: TenantFixture) -> None:
    run_id = await submit(store, tenant)
    results = await asyncio.gather(*[store.steps.acquire(run_id, f"w{i}", 30, 5) for i in range(3)])
    leases = [r.lease for r in results if r.lease]
    assert len(leases) == 1
    run = await store.runs.get(tenant.id, run_id)
    assert run.status is RunStatus.RUNNING and run.lease_owner == leases[0].owner


async def test_commit_writes_step_checkpoint_and_contiguous_events(
    store: ContextStore, tenant: TenantFixture
) -> None:
    run_id = await submit(store, tenant)
    for n in (1, 2, 3):
        acquired = await store.steps.acquire(run_id, "w", 30, 5)
        lease, inputs = acquired.lease, acquired.inputs
        assert lease is not None and inputs is not None and lease.run.step == n - 1
        assert inputs.checkpoint == (None if n == 1 else {"n": n - 1})
        assert (inputs.opening is None) == (n > 1)
        committed = await store.steps.commit(lease, step(n=n))
        assert committed.run.step == n and committed.run.lease_owner is None
    events = await store.runs.events(tenant.id, run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def leased(store: ContextStore, tenant: TenantFixture, owner: str) -> tuple[ManualClock, str, Lease]:
    """A new run's first lease (10 s), on a clock the test moves."""
    clock = ManualClock()
    with_clock(store, clock)
    run_id = await submit(store, tenant)
    lease = (await store.steps.acquire(run_id, owner, 10, 5)).lease
    assert lease is not None
    return clock, run_id, lease


async def test_a_kept_lease_goes_on_to_the_next_step_without_another_acquire(
    store: ContextStore, tenant: TenantFixture
) -> None:
    clock, run_id, lease = await leased(store, tenant, "w")
    clock.t += 5
    committed = await store.steps.commit(lease, step(n=1), keep_s=10)
    kept = committed.kept
    assert kept is not None and kept.fence == lease.fence and kept.expires_at == clock.t + 10
    run = await store.runs.get(tenant.id, run_id)
    assert run.step == 1 and run.lease_owner == "w" and run.attempts == 1
    assert (await store.steps.acquire(run_id, "other", 10, 5)).refusal is Refusal.GONE
    assert run_id not in await store.runs.due(clock.t)
    clock.t += 8  # past the first lease's expiry, inside the kept one
    done = await store.steps.commit(kept, step(RunStatus.COMPLETED, n=2), keep_s=10)
    assert done.kept is None and done.run.status is RunStatus.COMPLETED and done.run.lease_owner is None
    events = await store.runs.events(tenant.id, run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events].count("RunStarted") == 1


async def test_a_kept_lease_reads_the_next_tool_steps_gate_inputs(
    store: ContextStore, tenant: TenantFixture
) -> None:
    run_id = await submit(store, tenant)
    lease = (await store.steps.acquire(run_id, "w", 30, 5)).lease
    assert lease is not None
    pending = {"key": f"{run_id}:1:0", "call_id": "c1", "name": "lookup_order", "args": {}}
    outcome = StepOutcome(status=RunStatus.RUNNING, state={"messages": [], "pending": [pending]})
    committed = await store.steps.commit(lease, outcome, keep_s=30)
    assert committed.call is not None
    assert committed.call.rules == [] and committed.call.approval is None


async def test_a_kept_lease_that_lapsed_is_taken_over_and_fenced_off(
    store: ContextStore, tenant: TenantFixture
) -> None:
    clock, run_id, lease = await leased(store, tenant, "dead")
    kept = (await store.steps.commit(lease, step(n=1), keep_s=10)).kept
    assert kept is not None
    clock.t += 11  # its worker died between steps
    assert run_id in await store.runs.due(clock.t)
    live = await store.steps.acquire(run_id, "live", 10, 5)
    assert live.lease is not None and live.lease.fence > kept.fence
    assert live.inputs is not None and live.inputs.checkpoint == {"n": 1}
    assert live.lease.run.attempts == 2  # the lapsed step counts towards the dead letter
    with pytest.raises(StaleLease):
        await store.steps.commit(kept, step(n=2))


async def test_zombie_with_expired_lease_cannot_commit(store: ContextStore, tenant: TenantFixture) -> None:
    clock = ManualClock()
    with_clock(store, clock)
    run_id = await submit(store, tenant)
    zombie = (await store.steps.acquire(run_id, "zombie", 10, 5)).lease
    assert zombie is not None
    clock.t += 11
    live = (await store.steps.acquire(run_id, "live", 10, 5)).lease
    assert live is not None and live.fence > zombie.fence
    with pytest.raises(StaleLease):
        await store.steps.commit(zombie, step())
    with pytest.raises(StaleLease):
        await store.steps.claim_invocation(zombie, "k", RecordedCall("t", {}, "h"), NewEvent("X"))
    assert await store.steps.invocation(tenant.id, "k") is None
    assert not await store.steps.heartbeat(zombie, 10)
    committed = await store.steps.commit(live, step())
    assert committed.run.step == 1
    types = [e.type for e in await store.runs.events(tenant.id, run_id)]
    assert "LeaseRecovered" in types and "X" not in types


async def test_expired_lease_alone_also_blocks_commit(store: ContextStore, tenant: TenantFixture) -> None:
    clock = ManualClock()
    with_clock(store, clock)
    run_id = await submit(store, tenant)
    lease = (await store.steps.acquire(run_id, "w", 10, 5)).lease
    assert lease is not None
    clock.t += 11
    with pytest.raises(StaleLease):
        await store.steps.commit(lease, step())


async def test_second_run_in_a_session_waits_its_turn(store: ContextStore, tenant: TenantFixture) -> None:
    first = await submit(store, tenant, text="one")
    second = await submit(store, tenant, text="two")
    other_thread = await submit(store, tenant, text="elsewhere", thread_key="thread-2")
    assert (await store.steps.acquire(second, "w", 30, 5)).refusal is Refusal.NOT_YOUR_TURN
    lease1 = (await store.steps.acquire(first, "w", 30, 5)).lease
    assert lease1 is not None
    assert (await store.steps.acquire(other_thread, "w", 30, 5)).lease is not None
    assert (await store.steps.acquire(second, "w", 30, 5)).refusal is Refusal.NOT_YOUR_TURN
    assert second not in await store.runs.due(10**12)
    committed = await store.steps.commit(lease1, step(RunStatus.COMPLETED))
    assert committed.next_in_session == second
    assert (await store.steps.acquire(second, "w", 30, 5)).lease is not None


async def test_a_run_that_keeps_killing_workers_is_dead_lettered(
    store: ContextStore, tenant: TenantFixture
) -> None:
    clock = ManualClock()
    with_clock(store, clock)
    run_id = await submit(store, tenant)
    for _ in range(3):
        assert (await store.steps.acquire(run_id, "w", 10, 3)).lease is not None
        clock.t += 11  # the worker died holding the lease
    refused = await store.steps.acquire(run_id, "w", 10, 3)
    assert refused.refusal is Refusal.DEAD_LETTERED
    run = await store.runs.get(tenant.id, run_id)
    assert run.status is RunStatus.FAILED and run.error_code == "dead_letter"
    assert run_id not in await store.runs.due(clock.t)


async def test_cancel_fences_out_the_running_worker(store: ContextStore, tenant: TenantFixture) -> None:
    run_id = await submit(store, tenant)
    lease = (await store.steps.acquire(run_id, "w", 30, 5)).lease
    assert lease is not None
    await store.runs.transition(tenant.id, run_id, RunStatus.CANCELLED, [NewEvent("RunCancelled")])
    with pytest.raises(StaleLease):
        await store.steps.commit(lease, step())
    assert (await store.runs.get(tenant.id, run_id)).status is RunStatus.CANCELLED


@pytest.mark.parametrize(("limit", "before"), [(1, ["m1"]), (2, ["m0", "m1"]), (5, ["m0", "m1"])])
async def test_a_first_step_reads_its_own_message_and_a_window_before_it_only(
    store: ContextStore, tenant: TenantFixture, limit: int, before: list[str]
) -> None:
    ids = [await submit(store, tenant, text=f"m{i}") for i in range(4)]  # one session, m3 after m2
    run = await store.runs.get(tenant.id, ids[2])

    opening, window = await store.db.run(lambda conn: opening_and_window(conn, run, limit))

    assert opening is not None and opening.content == "m2"
    assert [m.content for m in window] == before
