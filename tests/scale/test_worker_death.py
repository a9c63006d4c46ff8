"""Celery workers die and the runs do not: kill -9 at step boundaries and side-effect failpoints
(the whole worker), a pool child killed under its parent, a zombie paused past its lease, and a
poison step that kills every worker that tries it. Real processes, Redis and PostgreSQL.

The ledger run: model → ship(a) → model → charge(5) → model → ship(b) → model "done", each tool
call first approved by the test approver. `ship` is idempotent (the ledger dedupes by key),
`charge` is not. tests/core/engine/test_crash_matrix.py covers every failpoint in-process; here a
subset, through Celery.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter

import pytest
import redis

from core.lifecycle import RunStatus
from core.scripted_model import ScriptedModelServer
from tests.conftest import TenantFixture
from tests.fakes.approver import auto_approver
from tests.fakes.ledger_bot import read_ledger
from tests.scale.cluster import Cluster, bench_runs, check_history, ledger_run

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def database_url(pg_url: str) -> str:
    return pg_url


# (failpoint, the status the run must end in, how many charges may have happened)
CASES = [
    ("after_commit:3", RunStatus.COMPLETED, 1),  # a step boundary
    ("before_commit:1", RunStatus.COMPLETED, 1),  # a model step's work is lost, redone
    ("after_intent:1", RunStatus.COMPLETED, 1),  # ship(a): idempotent, called again
    ("after_intent:2", RunStatus.NEEDS_RECONCILIATION, 0),  # charge never ran, but nobody can know
    ("after_call:2", RunStatus.NEEDS_RECONCILIATION, 1),  # charge ran; its result was lost
    ("after_call:3", RunStatus.COMPLETED, 1),
]


@pytest.mark.parametrize(("failpoint", "expected", "charges"), CASES, ids=[c[0] for c in CASES])
async def test_whole_worker_killed_at_a_failpoint(
    cluster: Cluster, tenant: TenantFixture, failpoint: str, expected: RunStatus, charges: int
) -> None:
    queue = await cluster.producer()
    async with auto_approver(cluster.store, tenant.id, queue):
        doomed = cluster.worker("doomed", SWITCHBOARD_ENGINE__FAILPOINT=failpoint)
        run_id = await ledger_run(cluster, tenant)
        code = await asyncio.to_thread(doomed.proc.wait, 60)
        assert code == -signal.SIGKILL, cluster.logs()
        killed_at = time.time()
        cluster.spawn("rescuer")
        statuses = await cluster.wait_all(tenant.id, [run_id], 60)
    assert statuses[run_id] is expected, cluster.logs()
    effects = Counter((e["tool"], e.get("item")) for e in read_ledger(cluster.ledger))
    assert effects[("ship", "a")] == 1
    assert effects[("charge", None)] == charges
    if expected is RunStatus.COMPLETED:
        assert effects[("ship", "b")] == 1
    events = await cluster.store.runs.events(tenant.id, run_id)
    check_history(events)
    recovered = [e for e in events if e.type == "LeaseRecovered"]
    if failpoint.startswith(("before_commit", "after_intent", "after_call")):  # it died holding the lease
        assert recovered and f":{doomed.pid}:" in recovered[0].payload["previous_owner"]
        # taken over within the lease (plus a worker's start), not Redis's visibility timeout (an hour)
        assert recovered[0].created_at - killed_at < 30


async def test_a_pool_child_killed_loses_no_run(
    cluster: Cluster, tenant: TenantFixture, model: ScriptedModelServer
) -> None:
    model.inject(latency_ms=400)
    await cluster.producer()
    worker = cluster.worker("prefork", "-P", "prefork", "-c", "2")
    run_ids = await bench_runs(cluster, tenant, 6)
    victim = None
    for _ in range(200):
        owners = {(await cluster.store.runs.get(tenant.id, r)).lease_owner for r in run_ids}
        children = worker.children()
        victim = next((pid for pid in children if any(o and f":{pid}:" in o for o in owners)), None)
        if victim is not None:
            break
        await asyncio.sleep(0.05)
    assert victim is not None, cluster.logs()
    os.kill(victim, signal.SIGKILL)
    statuses = await cluster.wait_all(tenant.id, run_ids, 60)
    assert set(statuses.values()) == {RunStatus.COMPLETED}, cluster.logs()
    assert worker.alive() and victim not in worker.children()  # the parent lives on, with a new child
    recovered = []
    for r in run_ids:
        events = await cluster.store.runs.events(tenant.id, r)
        check_history(events)
        recovered += [
            e for e in events if e.type == "LeaseRecovered" and f":{victim}:" in e.payload["previous_owner"]
        ]
    assert recovered, "the killed child held a lease that someone else took over"


async def test_a_zombie_worker_cannot_write_after_takeover(
    cluster: Cluster, tenant: TenantFixture, model: ScriptedModelServer
) -> None:
    model.inject(latency_ms=1200)
    queue = await cluster.producer()
    async with auto_approver(cluster.store, tenant.id, queue):
        zombie = cluster.worker("zombie")
        run_id = await ledger_run(cluster, tenant)
        for _ in range(300):  # the zombie holds the lease and is inside its model call
            current = await cluster.store.runs.get(tenant.id, run_id)
            if current.lease_owner and f":{zombie.pid}:" in current.lease_owner:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the first worker never took the lease")
        zombie.signal(signal.SIGSTOP)
        cluster.spawn("rescuer")
        for _ in range(600):
            if "LeaseRecovered" in [e.type for e in await cluster.store.runs.events(tenant.id, run_id)]:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the second worker never recovered the lease")
        zombie.signal(signal.SIGCONT)
        statuses = await cluster.wait_all(tenant.id, [run_id], 90)
    assert statuses[run_id] is RunStatus.COMPLETED, cluster.logs()
    events = await cluster.store.runs.events(tenant.id, run_id)
    check_history(events)
    steps = Counter(e.payload["step"] for e in events if e.type == "ModelResponded")
    assert sorted(steps) == [1, 4, 7, 10], steps
    assert Counter(e["tool"] for e in read_ledger(cluster.ledger)) == {"ship": 2, "charge": 1}
    assert "lost the lease" in zombie.text()


async def test_a_poison_step_is_dead_lettered_without_a_message_loop(
    cluster: Cluster, tenant: TenantFixture, redis_url: str
) -> None:
    await cluster.producer()
    # Every pool child dies as it starts a step; the parent keeps forking new ones.
    worker = cluster.worker(
        "poisoned", "-P", "prefork", "-c", "1", SWITCHBOARD_ENGINE__FAILPOINT="step_start:1"
    )
    [run_id] = await bench_runs(cluster, tenant, 1)
    statuses = await cluster.wait_all(tenant.id, [run_id], 120)
    assert statuses[run_id] is RunStatus.FAILED, cluster.logs()
    run = await cluster.store.runs.get(tenant.id, run_id)
    assert run.error_code == "dead_letter"
    events = await cluster.store.runs.events(tenant.id, run_id)
    # five children died holding the lease; each next acquisition took it over, the last to dead-letter
    assert len([e for e in events if e.type == "LeaseRecovered"]) == 5
    await asyncio.sleep(3)  # ten sweeps later: nothing moves, nothing is queued
    assert await cluster.store.runs.events(tenant.id, run_id) == events
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.llen("switchboard") == 0
    finally:
        client.close()
    assert worker.alive()


async def test_a_whole_worker_killed_mid_flight_loses_no_run(
    cluster: Cluster, tenant: TenantFixture, model: ScriptedModelServer
) -> None:
    model.inject(latency_ms=300)
    await cluster.producer()
    doomed = cluster.worker("doomed")
    cluster.worker("survivor")
    run_ids = await bench_runs(cluster, tenant, 30)
    for _ in range(300):
        owners = [(await cluster.store.runs.get(tenant.id, r)).lease_owner or "" for r in run_ids]
        if sum(f":{doomed.pid}:" in o for o in owners) >= 2:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the doomed worker never held two leases at once")
    doomed.signal(signal.SIGKILL)
    statuses = await cluster.wait_all(tenant.id, run_ids, 90)
    assert set(statuses.values()) == {RunStatus.COMPLETED}, cluster.logs()
    taken_over = 0
    for r in run_ids:
        events = await cluster.store.runs.events(tenant.id, r)
        check_history(events)
        taken_over += sum(
            f":{doomed.pid}:" in e.payload["previous_owner"] for e in events if e.type == "LeaseRecovered"
        )
    assert taken_over >= 2
