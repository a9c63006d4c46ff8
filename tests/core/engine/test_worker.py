"""The step worker end to end on a real store: model steps, tool steps, idempotency, failures."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import Connection, event

from core.engine.worker import WorkerOptions
from core.lifecycle import RunStatus
from core.model.port import Message
from core.records import Principal
from core.runtime import Submission
from core.store.context import ContextStore
from core.store.runs import NewRun
from core.tools.arguments import args_hash
from tests.conftest import TenantFixture
from tests.core.engine.harness import engine
from tests.fakes.approver import auto_approver
from tests.fakes.invocations import record_invocation
from tests.fakes.ledger_bot import read_ledger
from tests.fakes.models import Call, FunctionModel, Reply, Say, last_tool_results, ledger_policy

ENDED = frozenset(
    {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.NEEDS_RECONCILIATION}
)


@pytest.fixture(autouse=True)
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("LEDGER_PATH", str(path))
    return path


async def submit(
    rt_engine: object, who: Principal, bot: str = "ledger", text: str = "go", **kw: object
) -> str:
    submitted = await rt_engine.runtime.submit(who, Submission(bot=bot, text=text, **kw))  # type: ignore[attr-defined]
    assert submitted.run is not None
    return submitted.run.id


def order_policy(messages: list[Message]) -> Reply:
    results = last_tool_results(messages)
    if not results:
        return [Call("lookup_order", {"order_id": 42})]
    order = json.loads(results[0])
    return Say(f"Order {order['order_id']} is {order['status']}.")


async def test_tool_then_answer(store: ContextStore, tenant: TenantFixture) -> None:
    model = FunctionModel(order_policy)
    async with engine(store, model) as e:
        run_id = await submit(e, tenant.member, "support", "where is order 42?")
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.status is RunStatus.COMPLETED and run.answer == "Order 42 is shipped."
    assert run.step == 3 and run.prompt_tokens == 20 and run.cost_usd == pytest.approx(0.002)
    types = [ev.type for ev in await store.runs.events(tenant.id, run_id)]
    assert types == [
        "RunCreated",
        "RunStarted",
        "ModelCalled",
        "ModelResponded",
        "ToolCallProposed",
        "ToolCallStarted",
        "ToolCallSucceeded",
        "ModelCalled",
        "ModelResponded",
        "RunCompleted",
    ]
    assert model.requests[0].messages[0]["role"] == "system"


@pytest.mark.parametrize(("steps_per_lease", "leases"), [(8, 1), (2, 2), (1, 3)])
async def test_a_run_takes_its_steps_in_a_row_under_one_lease(
    store: ContextStore, tenant: TenantFixture, steps_per_lease: int, leases: int
) -> None:
    """Each lease bumps the fence: three steps under one lease leave it at 1."""
    options = WorkerOptions(steps_per_lease=steps_per_lease)
    async with engine(store, FunctionModel(order_policy), options=options) as e:
        run_id = await submit(e, tenant.member, "support", "where is order 42?")
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.status is RunStatus.COMPLETED and run.step == 3 and run.answer == "Order 42 is shipped."
    assert run.fence == leases and run.lease_owner is None
    types = [ev.type for ev in await store.runs.events(tenant.id, run_id)]
    assert types.count("RunStarted") == 1 and "LeaseRecovered" not in types


async def test_multi_step_ledger_run_has_one_effect_per_call(
    store: ContextStore, tenant: TenantFixture
) -> None:
    async with engine(store, FunctionModel(ledger_policy), approve=tenant.id) as e:
        run = await e.runtime.wait(tenant.member, await submit(e, tenant.member), 10, until=ENDED)
    assert run.status is RunStatus.COMPLETED and run.answer == "done"
    assert [(x["tool"], x.get("item", x.get("amount"))) for x in read_ledger()] == [
        ("ship", "a"),
        ("charge", 5),
        ("ship", "b"),
    ]


async def test_unknown_tool_and_bad_arguments_reach_the_agent(
    store: ContextStore, tenant: TenantFixture
) -> None:
    def policy(messages: list[Message]) -> Reply:
        results = last_tool_results(messages)
        if not results:
            return [Call("teleport", {}), Call("lookup_order", "{not json")]
        return Say("recovered: " + " | ".join(json.loads(r)["error"] for r in results))

    async with engine(store, FunctionModel(policy)) as e:
        run = await e.runtime.wait(
            tenant.member, await submit(e, tenant.member, "support", "hi"), 10, until=ENDED
        )
    assert run.status is RunStatus.COMPLETED
    assert run.answer == "recovered: unknown_tool | tool_arguments_invalid"


async def test_model_down_fails_with_reason_and_resume_continues(
    store: ContextStore, tenant: TenantFixture
) -> None:
    model = FunctionModel(order_policy, down=True)
    async with engine(store, model) as e:
        run_id = await submit(e, tenant.member, "support", "where is order 42?")
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
        assert run.status is RunStatus.FAILED and run.error_code == "model_unavailable"
        assert "connection refused" in (run.error_message or "")
        model.down = False
        await e.runtime.resume(tenant.member, run_id)
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.status is RunStatus.COMPLETED and run.answer == "Order 42 is shipped."


async def test_recorded_result_is_replayed_not_repeated(store: ContextStore, tenant: TenantFixture) -> None:
    """A crash after the tool ran and its result was recorded: the resumed step replays it."""
    async with engine(store, FunctionModel(ledger_policy), concurrency=1, approve=tenant.id) as e:
        run_id = await submit(e, tenant.member)
        assert (await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)).status is RunStatus.COMPLETED
    key = f"{run_id}:1:0"
    inv = await store.steps.invocation(tenant.id, key)
    assert inv is not None and inv.status == "succeeded" and inv.args_hash == args_hash({"item": "a"})
    assert len([x for x in read_ledger() if x["key"] == key]) == 1


async def test_non_idempotent_intent_without_outcome_needs_reconciliation(
    store: ContextStore, tenant: TenantFixture
) -> None:

    async with engine(store, FunctionModel(ledger_policy), approve=tenant.id) as e:
        run_id = await submit(e, tenant.member)
        # Another worker recorded the charge's intent and died before recording its outcome.
        await record_invocation(store, tenant.id, run_id, f"{run_id}:4:0", "charge", {"amount": 5})
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.status is RunStatus.NEEDS_RECONCILIATION
    assert [x["tool"] for x in read_ledger()] == ["ship"]  # the charge was not repeated


async def test_calls_proposed_together_are_each_approved_in_turn(
    store: ContextStore, tenant: TenantFixture
) -> None:
    """The second call becomes first in the commit that resolves the first one, under the same
    lease: it must still be gated, and asks for its own approval."""

    def policy(messages: list[Message]) -> Reply:
        results = last_tool_results(messages)
        return Say("both shipped") if results else [Call("ship", {"item": "a"}), Call("ship", {"item": "b"})]

    async with engine(store, FunctionModel(policy), approve=tenant.id) as e:
        run_id = await submit(e, tenant.member)
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.status is RunStatus.COMPLETED and run.answer == "both shipped"
    approvals = await store.decisions.approvals(tenant.id, status=None, run_id=run_id)
    assert sorted(a.call_key for a in approvals) == [f"{run_id}:1:0", f"{run_id}:1:1"]
    assert [x["item"] for x in read_ledger()] == ["a", "b"]


def stock_policy(messages: list[Message]) -> Reply:
    return Say("3 in stock") if last_tool_results(messages) else [Call("stock", {"item": "a"})]


async def test_a_read_safe_to_repeat_is_recorded_with_its_outcome_in_its_commit(
    store: ContextStore, tenant: TenantFixture
) -> None:
    """A read that declares itself idempotent guards no side effect: it takes no intent
    transaction before it runs. Its invocation is written once, with its result, in the same
    transaction as the step's checkpoint; the events are those of any tool call."""
    writes: list[tuple[int, str]] = []

    def record(conn: Connection, _cursor: object, statement: str, *_: object) -> None:
        # On PostgreSQL a step's commit is one statement of data-modifying CTEs: each write in it.
        for what in re.findall(r"\b(INSERT INTO \w+|UPDATE \w+ SET)", statement):
            writes.append((id(conn.get_transaction()), what.removesuffix(" SET")))

    event.listen(store.db.engine, "before_cursor_execute", record)
    try:
        async with engine(store, FunctionModel(stock_policy)) as e:
            run_id = await submit(e, tenant.member)
            run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    finally:
        event.remove(store.db.engine, "before_cursor_execute", record)
    assert run.status is RunStatus.COMPLETED and run.answer == "3 in stock"
    inv = await store.steps.invocation(tenant.id, f"{run_id}:1:0")
    assert inv is not None and (inv.status, inv.result, inv.attempts) == (
        "succeeded",
        {"item": "a", "in_stock": 3},
        1,
    )
    assert inv.args_hash == args_hash({"item": "a"})
    on_invocations = [(tx, what) for tx, what in writes if "tool_invocations" in what]
    assert [what for _, what in on_invocations] == ["INSERT INTO tool_invocations"]
    assert (on_invocations[0][0], "INSERT INTO checkpoints") in writes
    types = [ev.type for ev in await store.runs.events(tenant.id, run_id)]
    assert types[types.index("ToolCallProposed") :][:3] == [
        "ToolCallProposed",
        "ToolCallStarted",
        "ToolCallSucceeded",
    ]
    assert [x["tool"] for x in read_ledger()] == ["stock"]


async def test_a_read_whose_intent_an_earlier_worker_recorded_completes(
    store: ContextStore, tenant: TenantFixture
) -> None:
    """An intent left by a worker that died while the tool still took one (it was not yet
    declared safe to repeat): the read runs again, and its commit records the outcome on that row."""
    async with engine(store, FunctionModel(stock_policy)) as e:
        submitted = await store.runs.submit(
            NewRun(tenant.id, tenant.member.user_id, "api", "t", "ledger", "go")
        )
        assert submitted.run is not None
        run_id = submitted.run.id
        await record_invocation(store, tenant.id, run_id, f"{run_id}:1:0", "stock", {"item": "a"})
        await e.queue.enqueue(run_id)
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.status is RunStatus.COMPLETED and run.answer == "3 in stock"
    inv = await store.steps.invocation(tenant.id, f"{run_id}:1:0")
    assert inv is not None and (inv.status, inv.result) == ("succeeded", {"item": "a", "in_stock": 3})
    assert len(read_ledger()) == 1


async def test_same_key_different_arguments_halts_the_run(store: ContextStore, tenant: TenantFixture) -> None:

    async with engine(store, FunctionModel(ledger_policy)) as e:
        run_id = await submit(e, tenant.member)
        # Park the run at its first approval so the conflicting record lands before the call runs.
        await e.runtime.wait(tenant.member, run_id, 10, until=frozenset({RunStatus.WAITING_APPROVAL}))
        await record_invocation(
            store,
            tenant.id,
            run_id,
            f"{run_id}:1:0",
            "ship",
            {"item": "zzz"},
            status="succeeded",
            result={"shipped": "zzz"},
        )
        async with auto_approver(store, tenant.id, e.queue):
            run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.status is RunStatus.FAILED and run.error_code == "idempotency_conflict"
    assert read_ledger() == []


async def test_every_step_delivered_three_times_commits_once(
    store: ContextStore, tenant: TenantFixture
) -> None:
    async with engine(store, FunctionModel(ledger_policy), concurrency=6, approve=tenant.id) as e:
        run_id = await submit(e, tenant.member)
        original = e.queue.enqueue

        async def triple(rid: str) -> None:
            for _ in range(3):
                e.queue._queued.discard(rid)  # defeat the in-process dedupe: real duplicates
                await original(rid)

        e.queue.enqueue = triple  # type: ignore[method-assign]
        await triple(run_id)
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
        await e.settle()
    assert run.status is RunStatus.COMPLETED
    events = await store.runs.events(tenant.id, run_id)
    assert [ev.seq for ev in events] == list(range(1, len(events) + 1))
    assert sum(ev.type == "ModelCalled" for ev in events) == 4
    assert sum(ev.type == "ApprovalRequested" for ev in events) == 3
    assert len(read_ledger()) == 3


class OverlapModel(FunctionModel):
    """Counts model calls in flight at once (each takes 30 ms)."""

    in_flight = 0
    most = 0

    async def complete(self, request, on_delta=None):  # type: ignore[no-untyped-def]
        OverlapModel.in_flight += 1
        OverlapModel.most = max(OverlapModel.most, OverlapModel.in_flight)
        try:
            await asyncio.sleep(0.03)
            return await super().complete(request, on_delta)
        finally:
            OverlapModel.in_flight -= 1


@pytest.mark.parametrize(("threads", "overlap"), [(["shared"] * 4, False), (["a", "b", "c", "d"], True)])
async def test_steps_of_one_thread_never_run_concurrently(
    store: ContextStore, tenant: TenantFixture, threads: list[str], overlap: bool
) -> None:
    OverlapModel.most = 0
    async with engine(store, OverlapModel(order_policy), concurrency=6) as e:
        people = [tenant.member, tenant.other_member] * 2
        ids = [
            await submit(e, who, "support", "where is order 42?", thread_key=t)
            for who, t in zip(people, threads, strict=True)
        ]
        for run_id, who in zip(ids, people, strict=True):
            assert (await e.runtime.wait(who, run_id, 15)).status is RunStatus.COMPLETED
    assert (OverlapModel.most > 1) is overlap


async def test_cancel_stops_a_run_and_lets_the_next_one_go(
    store: ContextStore, tenant: TenantFixture
) -> None:
    gate = asyncio.Event()

    class SlowModel(FunctionModel):
        async def complete(self, request, on_delta=None):  # type: ignore[no-untyped-def]
            await gate.wait()
            return await super().complete(request, on_delta)

    async with engine(store, SlowModel(ledger_policy), approve=tenant.id) as e:
        first = await submit(e, tenant.member, thread_key="t")
        second = await submit(e, tenant.member, thread_key="t")
        await asyncio.sleep(0.2)
        await e.runtime.cancel(tenant.member, first)
        gate.set()
        assert (await e.runtime.wait(tenant.member, second, 10, until=ENDED)).status is RunStatus.COMPLETED
    assert (await store.runs.get(tenant.id, first)).status is RunStatus.CANCELLED
    assert len(read_ledger()) == 3  # only the second run's effects
