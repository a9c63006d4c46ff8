"""Celery is a nudge, SQL is the truth: every message delivered three times, Redis flushed with a
hundred runs in flight, PostgreSQL backends terminated mid-commit, and a model endpoint throwing
429s and 500s. Real worker processes, Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter

import httpx
import psycopg
import pytest
import redis

from core.lifecycle import ACTIVE, RunStatus
from core.scripted_model import ScriptedModelServer
from tests.conftest import TenantFixture
from tests.fakes.approver import auto_approver
from tests.fakes.ledger_bot import read_ledger
from tests.scale.cluster import Cluster, bench_runs, check_history, ledger_run

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def database_url(pg_url: str) -> str:
    return pg_url


async def test_every_message_delivered_three_times_commits_each_step_once(
    cluster: Cluster, tenant: TenantFixture
) -> None:
    queue = await cluster.producer(copies=3)
    # Every step through a message of its own, each message published three times.
    triple = {"SWITCHBOARD_QUEUE__DUPLICATE_DELIVERIES": "3", "SWITCHBOARD_ENGINE__STEPS_PER_LEASE": "1"}
    cluster.worker("one", **triple)
    cluster.worker("two", **triple)
    async with auto_approver(cluster.store, tenant.id, queue):
        ledger_ids = [await ledger_run(cluster, tenant, thread=f"l{i}") for i in range(3)]
        bench_ids = await bench_runs(cluster, tenant, 10)
        statuses = await cluster.wait_all(tenant.id, ledger_ids + bench_ids, 120)
    assert set(statuses.values()) == {RunStatus.COMPLETED}, cluster.logs()
    for run_id in ledger_ids + bench_ids:
        check_history(await cluster.store.runs.events(tenant.id, run_id))
    effects = Counter((e["key"].split(":")[0], e["tool"]) for e in read_ledger(cluster.ledger))
    assert effects == Counter({(r, t): n for r in ledger_ids for t, n in (("ship", 2), ("charge", 1))})


async def test_a_flushed_redis_loses_nothing_the_sweeper_recovers_every_run(
    cluster: Cluster, tenant: TenantFixture, model: ScriptedModelServer, redis_url: str
) -> None:
    model.inject(latency_ms=200)
    await cluster.producer()
    # One user's 100 runs: past the default limit of 20 a start is held in the database, and its
    # nudge is spent at once. Let them all wait in Redis instead, which is what is flushed here.
    roomy = {
        "SWITCHBOARD_QUEUE__CONCURRENCY": "16",
        "SWITCHBOARD_ADMISSION__MAX_ACTIVE_RUNS_PER_USER": "1000",
    }
    cluster.worker("one", **roomy)
    cluster.worker("two", **roomy)
    run_ids = await bench_runs(cluster, tenant, 100)
    for _ in range(600):
        runs = [await cluster.store.runs.get(tenant.id, r) for r in run_ids]
        if sum(r.status is RunStatus.COMPLETED for r in runs) >= 10:
            break
        await asyncio.sleep(0.05)
    in_flight = sum(r.status in ACTIVE for r in runs)
    client = redis.Redis.from_url(redis_url)
    try:
        queued = client.llen("switchboard")
        client.flushdb()  # our own database only: the queue, its unacked messages, the nudge markers
    finally:
        client.close()
    assert in_flight >= 50 and queued > 0, (in_flight, queued)
    statuses = await cluster.wait_all(tenant.id, run_ids, 180)
    assert Counter(statuses.values()) == {RunStatus.COMPLETED: 100}, cluster.logs()
    for run_id in run_ids:
        check_history(await cluster.store.runs.events(tenant.id, run_id))


VICTIM = "sb_scale_victim"


def _with_application_name(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={VICTIM}"


def _catch_commits(admin_url: str, rounds: int) -> int:
    """Hold a SHARE lock on `checkpoints` so the workers' commits stop at their checkpoint insert
    (on PostgreSQL one statement, `WITH r AS …`, with the run's and its events' writes:
    core/store/fused.py; pg_stat_activity shows only its first 1 kB); terminate those
    backends; let go. Returns how many commits were cut."""
    cut = 0
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for _ in range(rounds):
            with psycopg.connect(admin_url) as locker:
                locker.execute("LOCK TABLE checkpoints IN SHARE MODE")
                for _ in range(100):
                    rows = admin.execute(
                        "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = "
                        "'Lock' AND (query ILIKE 'INSERT INTO checkpoints%%' OR query ILIKE 'WITH r AS%%')",
                        (VICTIM,),
                    ).fetchall()
                    if rows:
                        break
                    locker.execute("SELECT pg_sleep(0.05)")
                for (pid,) in rows:
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    cut += 1
                locker.rollback()
            admin.execute("SELECT pg_sleep(0.5)")
    return cut


async def test_backends_terminated_mid_commit_roll_back_and_resume(
    cluster: Cluster, tenant: TenantFixture, model: ScriptedModelServer, database_url: str
) -> None:
    model.inject(latency_ms=100)
    await cluster.producer()
    victim_url = _with_application_name(database_url)
    cluster.worker("one", SWITCHBOARD_DATABASE_URL=victim_url)
    cluster.worker("two", SWITCHBOARD_DATABASE_URL=victim_url)
    run_ids = await bench_runs(cluster, tenant, 20)
    cut = await asyncio.to_thread(_catch_commits, database_url, 3)
    statuses = await cluster.wait_all(tenant.id, run_ids, 120)
    assert cut >= 1, "no commit was caught half-way"
    assert set(statuses.values()) == {RunStatus.COMPLETED}, cluster.logs()
    recovered = 0
    for run_id in run_ids:
        events = await cluster.store.runs.events(tenant.id, run_id)
        check_history(events)  # the cut transactions left no event behind
        recovered += sum(e.type == "LeaseRecovered" for e in events)
    assert recovered >= 1  # a cut step was taken up again after its lease ran out
    assert any("store unavailable during a step" in w.text() for w in cluster.workers)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _breaker_transitions(text: str, state: str) -> float:
    total = 0.0
    prefix = "switchboard_breaker_transitions_total{"
    for line in text.splitlines():
        if line.startswith(prefix) and f'state="{state}"' in line and 'breaker="model:bench-model@' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_a_failing_model_slows_runs_down_and_the_breaker_opens_and_closes(
    cluster: Cluster, tenant: TenantFixture, model: ScriptedModelServer
) -> None:
    model.inject(latency_ms=50)
    await cluster.producer()
    env = {
        "SWITCHBOARD_MODEL__MAX_RETRIES": "2",
        "SWITCHBOARD_RESILIENCE__MODEL_BREAKER__FAILURES": "3",
        "SWITCHBOARD_RESILIENCE__MODEL_BREAKER__WINDOW_S": "10",
        "SWITCHBOARD_RESILIENCE__MODEL_BREAKER__OPEN_S": "1",
        "SWITCHBOARD_RESILIENCE__MODEL_BREAKER__MAX_WAIT_S": "60",
    }
    ports = [_free_port(), _free_port()]
    for i, port in enumerate(ports):
        cluster.worker(f"w{i}", SWITCHBOARD_QUEUE__METRICS_PORT=str(port), **env)
    model.inject(status=500, count=12)
    model.inject(status=429, retry_after=0.2, count=12)
    run_ids = await bench_runs(cluster, tenant, 20)
    statuses = await cluster.wait_all(tenant.id, run_ids, 120)
    assert set(statuses.values()) == {RunStatus.COMPLETED}, cluster.logs()
    assert model.faults.pending == 0
    async with httpx.AsyncClient() as client:
        scraped = [(await client.get(f"http://127.0.0.1:{port}/metrics")).text for port in ports]
    opened = sum(_breaker_transitions(text, "open") for text in scraped)
    closed = sum(_breaker_transitions(text, "closed") for text in scraped)
    assert opened >= 1 and closed >= 1, (opened, closed)
    for text in scraped:  # and every breaker is closed again now
        assert 'switchboard_breaker_state{breaker="model:bench-model@' in text
        for line in text.splitlines():
            if line.startswith('switchboard_breaker_state{breaker="model:'):
                assert line.endswith(" 0.0"), line
