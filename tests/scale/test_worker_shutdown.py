"""A Celery worker stopped with SIGTERM (a warm shutdown, as Ctrl-C or a deploy does) while its
step waits on the model: the step gives its lease back and its run is nudged again, so the worker
exits at once instead of running on through its steps, and another worker completes the run
without waiting out the lease. Real processes, Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from core.lifecycle import RunStatus
from core.scripted_model import ScriptedModelServer
from tests.conftest import TenantFixture
from tests.scale.cluster import Cluster, bench_runs, check_history

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LEASE_S = "30"  # the default: waiting it out would show


@pytest.fixture
def database_url(pg_url: str) -> str:
    return pg_url


async def test_sigterm_mid_model_call_gives_the_lease_back(
    cluster: Cluster, tenant: TenantFixture, model: ScriptedModelServer
) -> None:
    model.inject(latency_ms=2000)
    await cluster.producer()
    stopping = cluster.worker("stopping", SWITCHBOARD_ENGINE__LEASE_S=LEASE_S)
    [run_id] = await bench_runs(cluster, tenant, 1)
    for _ in range(300):  # the worker holds the lease and is inside its model call
        current = await cluster.store.runs.get(tenant.id, run_id)
        if current.lease_owner and f":{stopping.pid}:" in current.lease_owner:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail(f"the worker never took the lease\n{cluster.logs()}")
    await asyncio.sleep(0.3)
    stopping.signal(signal.SIGTERM)
    signalled = time.monotonic()
    code = await asyncio.to_thread(stopping.proc.wait, 30)
    assert time.monotonic() - signalled < 5, cluster.logs()  # not after the run's remaining steps
    assert code == 0, cluster.logs()
    assert "gave the lease back mid-step" in stopping.text()
    stopped = await cluster.store.runs.get(tenant.id, run_id)
    assert stopped.status is not RunStatus.COMPLETED
    assert stopped.lease_expires_at is not None and stopped.lease_expires_at < time.time()

    rescuer = cluster.worker("rescuer", SWITCHBOARD_ENGINE__LEASE_S=LEASE_S)
    ready = time.monotonic()
    statuses = await cluster.wait_all(tenant.id, [run_id], 40)
    assert statuses[run_id] is RunStatus.COMPLETED, cluster.logs()
    assert time.monotonic() - ready < 20, cluster.logs()  # two model calls, not a 30 s lease first
    events = await cluster.store.runs.events(tenant.id, run_id)
    check_history(events)
    recovered = [e for e in events if e.type == "LeaseRecovered"]
    assert recovered and f":{rescuer.pid}:" in recovered[0].payload["owner"], [e.type for e in events]
