"""Backpressure: the hard cap refuses, soft limits queue with a place in line, and the lease gate
holds a run until its user or tenant has room (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

import httpx
import pytest
from sqlalchemy import Connection, Engine, event, text

from bots.support import bot as support_bot
from core.admission import Admission, Limits
from core.bots import BotRegistry
from core.engine.notifier import RunNotifier
from core.engine.worker import StepWorker, WorkerOptions
from core.errors import Busy
from core.events import EventType
from core.lifecycle import RunStatus
from core.model.port import DeltaSink, ModelReply, ModelRequest
from core.queue.inprocess import InProcessQueue
from core.records import NewEvent, Principal
from core.runtime import Runtime, Submission
from core.steps import Refusal
from core.store.context import ContextStore
from core.store.runs import NewRun
from tests.channels.api.conftest import api_app
from tests.conftest import TenantFixture
from tests.fakes.models import FunctionModel, Say

NO_LIMITS = Limits(per_user=None, per_tenant=None, hard_cap=None)


async def submit(store: ContextStore, who: Principal, thread: str) -> str:
    submitted = await store.runs.submit(NewRun(who.tenant_id, who.user_id, "api", thread, "support", "hello"))
    assert submitted.run is not None
    return submitted.run.id


async def test_past_the_hard_cap_a_submission_is_refused(store: ContextStore, tenant: TenantFixture) -> None:
    admission = Admission(store.admission, replace(NO_LIMITS, hard_cap=2, retry_after_s=7))
    assert await admission.admit(tenant.member) is None
    for thread in ("a", "b"):
        await submit(store, tenant.member, thread)
    with pytest.raises(Busy) as refused:
        await admission.admit(tenant.other_member)
    assert refused.value.retry_after_s == 7 and refused.value.code == "busy"


async def test_a_refused_submission_records_nothing_and_a_retried_event_is_not_refused(
    store: ContextStore, tenant: TenantFixture
) -> None:
    admission = Admission(store.admission, replace(NO_LIMITS, hard_cap=1))
    recorded = NewRun(
        tenant.member.tenant_id, tenant.member.user_id, "slack", "t", "support", "hi", event_id="Ev1"
    )
    first = await store.runs.submit(replace(recorded, admit=partial(admission.admit_in, who=tenant.member)))
    assert first.created
    with pytest.raises(Busy):
        await store.runs.submit(
            replace(
                recorded, thread_key="u", event_id="Ev2", admit=partial(admission.admit_in, who=tenant.member)
            )
        )
    assert [r.id for r in await store.runs.find(tenant.id)] == [first.run.id]  # type: ignore[union-attr]
    # Slack re-sends Ev1: it is recognised as a duplicate, not refused as one run too many.
    again = await store.runs.submit(replace(recorded, admit=partial(admission.admit_in, who=tenant.member)))
    assert again.run is None and not again.created


async def test_past_a_user_limit_a_run_is_told_its_place(store: ContextStore, tenant: TenantFixture) -> None:
    admission = Admission(store.admission, replace(NO_LIMITS, per_user=2))
    for thread in ("a", "b", "c"):
        await submit(store, tenant.member, thread)
    assert await admission.admit(tenant.member) == 2  # two ahead must make room: "you are #2"
    assert await admission.admit(tenant.other_member) is None


async def test_a_long_backlog_gives_everyone_a_place(store: ContextStore, tenant: TenantFixture) -> None:
    admission = Admission(store.admission, replace(NO_LIMITS, busy_depth=3))
    for thread in ("a", "b", "c"):
        await submit(store, tenant.member, thread)
    assert await admission.admit(tenant.other_member) == 4


async def test_the_lease_gate_holds_a_run_until_its_user_has_room(
    store: ContextStore, tenant: TenantFixture
) -> None:
    admission = Admission(store.admission, replace(NO_LIMITS, per_user=1, hold_s=60))
    store.steps.admission = admission
    first = await submit(store, tenant.member, "a")
    second = await submit(store, tenant.member, "b")
    colleague = await submit(store, tenant.other_member, "c")

    assert (await store.steps.acquire(first, "w1", 30, 5)).lease is not None
    held = await store.steps.acquire(second, "w1", 30, 5)
    assert held.lease is None and held.refusal is Refusal.HELD
    assert (await store.steps.acquire(colleague, "w1", 30, 5)).lease is not None  # others are not held
    now = store.clock.now()
    assert second not in await store.runs.due(now)  # the sweeper leaves it asleep
    assert (await store.steps.acquire(second, "w2", 30, 5)).refusal is Refusal.GONE  # so do duplicates

    stopped, _ = await store.runs.transition(
        tenant.id, first, RunStatus.CANCELLED, [NewEvent(EventType.RUN_CANCELLED, {"by": "test"})]
    )
    assert await admission.wake(stopped) == [second]
    assert second in await store.runs.due(store.clock.now())
    assert (await store.steps.acquire(second, "w1", 30, 5)).lease is not None


@pytest.mark.parametrize("limit", ["per_user", "per_tenant"])
async def test_concurrent_starts_do_not_overshoot_a_limit(
    store: ContextStore, tenant: TenantFixture, limit: str
) -> None:
    admission = Admission(store.admission, replace(NO_LIMITS, hold_s=60, **{limit: 3}))
    store.steps.admission = admission
    run_ids = [await submit(store, tenant.member, f"t{i}") for i in range(10)]
    acquired = await asyncio.gather(*(store.steps.acquire(r, f"w{i}", 30, 5) for i, r in enumerate(run_ids)))
    assert sum(a.lease is not None for a in acquired) == 3
    assert sum(a.refusal is Refusal.HELD for a in acquired) == 7


async def test_far_from_their_limits_starts_go_ahead_together(
    store: ContextStore, tenant: TenantFixture
) -> None:
    """Share-mode locks: the starts do not queue on each other, and none is held."""
    admission = Admission(store.admission, replace(NO_LIMITS, per_user=10_000, per_tenant=10_000))
    store.steps.admission = admission
    run_ids = [await submit(store, tenant.member, f"t{i}") for i in range(8)]
    acquired = await asyncio.gather(*(store.steps.acquire(r, f"w{i}", 30, 5) for i, r in enumerate(run_ids)))
    assert all(a.lease is not None for a in acquired)


class SlowModel:
    """Answers after a pause, and remembers how many calls were in flight at once."""

    def __init__(self) -> None:
        self.inner = FunctionModel(lambda _: Say("hi"))
        self.in_flight = 0
        self.most = 0

    async def complete(self, request: ModelRequest, on_delta: DeltaSink | None = None) -> ModelReply:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.05)
            return await self.inner.complete(request, on_delta)
        finally:
            self.in_flight -= 1


async def test_runs_past_the_limit_wait_their_turn_and_all_complete(
    store: ContextStore, tenant: TenantFixture
) -> None:
    admission = Admission(store.admission, replace(NO_LIMITS, per_user=1, hold_s=5))
    store.steps.admission = admission
    bots = BotRegistry([support_bot])
    model = SlowModel()
    worker = StepWorker(store, bots, model, WorkerOptions())
    queue = InProcessQueue(worker.advance, 4)
    runtime = Runtime(store, bots, queue, RunNotifier(), admission=admission)
    await queue.start()
    try:
        submitted = [
            await runtime.submit(tenant.member, Submission("support", f"hello {i}", thread_key=f"t{i}"))
            for i in range(3)
        ]
        assert [s.position for s in submitted] == [None, 1, 2]
        ids = [s.run.id for s in submitted if s.run is not None]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20  # well within hold_s per run: the release wakes the next one
        while loop.time() < deadline:
            runs = [await store.runs.get(tenant.id, i) for i in ids]
            if all(r.status is RunStatus.COMPLETED for r in runs):
                break
            await asyncio.sleep(0.05)
        assert [r.status for r in runs] == [RunStatus.COMPLETED] * 3
        assert loop.time() < deadline - 15, "held runs should be woken when a slot frees, not by the timer"
    finally:
        await queue.stop()
    assert model.most == 1


async def test_the_api_answers_429_with_retry_after_and_tells_the_place_in_line(
    store: ContextStore, tenant: TenantFixture
) -> None:
    admission = Admission(store.admission, replace(NO_LIMITS, per_user=1, hard_cap=2, retry_after_s=9))
    bots = BotRegistry([support_bot])
    queue = InProcessQueue(
        StepWorker(store, bots, FunctionModel(lambda _: Say("hi")), WorkerOptions()).advance
    )
    runtime = Runtime(store, bots, queue, RunNotifier(), admission=admission)  # queue not started: runs wait
    key = await store.directory.create_api_key(tenant.id, tenant.member.user_id)
    transport = httpx.ASGITransport(app=api_app(runtime, store))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as client:
        first = await client.post("/v1/runs", json={"bot": "support", "message": "hello"})
        second = await client.post("/v1/runs", json={"bot": "support", "message": "hello again"})
        third = await client.post("/v1/runs", json={"bot": "support", "message": "and again"})
    assert first.status_code == 202 and first.json()["queue_position"] is None
    assert second.status_code == 202 and second.json()["queue_position"] == 1  # "busy: you are #1"
    assert third.status_code == 429
    assert third.headers["Retry-After"] == "9"
    assert third.json()["error"]["code"] == "busy"
    assert len(await store.runs.find(tenant.id)) == 2  # the refused one left nothing behind


def _vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM runs")


def _explained(conn: Connection, statement: str, params: object) -> list[str]:
    """How the database runs one statement: PostgreSQL's plan nodes, or SQLite's query plan."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    if conn.dialect.name == "postgresql":
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
        nodes, found = [cursor.fetchone()[0][0]["Plan"]], []
        while nodes:
            node = nodes.pop()
            nodes.extend(node.get("Plans", []))
            found.append(
                f"{node['Node Type']} read {node['Actual Rows'] + node.get('Rows Removed by Filter', 0)}"
            )
        return found
    cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
    return [str(row[-1]) for row in cursor.fetchall()]


def _plans(store: ContextStore, work: Callable[[Connection], object]) -> Awaitable[list[list[str]]]:
    """The plans of the SELECTs on `runs` that `work` issues, run again under EXPLAIN."""
    statements: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and " runs " in f" {statement} ":
            statements.append((statement, params))

    def explain(conn: Connection) -> list[list[str]]:
        event.listen(conn, "before_cursor_execute", capture)
        try:
            work(conn)
        finally:
            event.remove(conn, "before_cursor_execute", capture)
        return [_explained(conn, s, p) for s, p in statements]

    return store.db.run(explain)


def _by_status(sqlite_step: str) -> bool:
    """The step searches runs by status, or in an index of runs of one status."""
    return any(way in sqlite_step for way in ("status=?", "ix_runs_running", "ix_runs_held"))


def _rows_read(plan: list[str]) -> int:
    return max(int(step.rsplit(" ", 1)[1]) for step in plan)


async def test_counting_active_runs_does_not_read_the_finished_ones(
    store: ContextStore, tenant: TenantFixture
) -> None:
    """Admission counts a tenant's queued and running runs on every submission and start; its
    queries must find them without reading every run the tenant has ever had."""
    admission = Admission(store.admission, replace(NO_LIMITS, per_user=5, per_tenant=50))
    for i in range(300):
        await submit(store, tenant.member, f"old{i}")
    finish = text("UPDATE runs SET status = 'completed'")
    await store.db.run(lambda conn: conn.execute(finish))
    if store.db.engine.dialect.name == "postgresql":  # as autovacuum would: the old versions go
        await asyncio.to_thread(_vacuum, store.db.engine)
    run = await store.runs.get(tenant.id, await submit(store, tenant.member, "new"))

    def exercise(conn: Connection) -> None:
        admission.admit_in(conn, tenant.member)
        admission.gate(conn, run, store.clock.now())
        admission.released(conn, run)

    plans = await _plans(store, exercise)
    assert len(plans) >= 3  # the submission's count, the start's count, the held runs' lookup
    for plan in plans:
        if store.db.engine.dialect.name == "postgresql":
            assert _rows_read(plan) < 10, plan
        else:
            assert all(_by_status(step) or "USING" not in step for step in plan), plan


async def test_looking_for_held_runs_does_not_read_the_queue(
    store: ContextStore, tenant: TenantFixture
) -> None:
    """Every run that stops running looks for held runs to wake; the runs queued for a worker,
    often thousands, are not held and must not be read to find the few that are."""
    admission = Admission(store.admission, replace(NO_LIMITS, per_user=5))
    queued = [await submit(store, tenant.member, f"t{i}") for i in range(60)]
    run = await store.runs.get(tenant.id, queued[0])
    plans = await _plans(store, lambda conn: admission.released(conn, run))
    assert len(plans) == 1
    if store.db.engine.dialect.name == "postgresql":
        assert _rows_read(plans[0]) < 10, plans[0]
    else:  # without statistics SQLite may read the tenant's queued runs instead: not the finished ones
        assert any(_by_status(step) for step in plans[0]), plans[0]
