"""The demo governance must make real: a customer asks for a refund; the agent looks the order up,
asks why, proposes the refund; an admin signs off; the refund happens once; the customer is told."""

from __future__ import annotations

import asyncio

import pytest

from bots.support.tools import refunds_for
from core.errors import Conflict, Forbidden
from core.lifecycle import RunStatus
from core.model.gateway import OpenAIGateway
from core.records import Principal, Role
from core.runtime import Submission
from core.store.context import ContextStore
from tests.conftest import TenantFixture
from tests.core.engine.harness import engine

WAITING = frozenset(
    {RunStatus.WAITING_INPUT, RunStatus.WAITING_APPROVAL, RunStatus.COMPLETED, RunStatus.FAILED}
)


async def start_refund(e, who: Principal) -> str:  # type: ignore[no-untyped-def]
    submitted = await e.runtime.submit(who, Submission(bot="support", text="please refund order 42"))
    return submitted.run.id


async def refund_awaiting_approval(e, store: ContextStore, who: Principal, reason: str):  # type: ignore[no-untyped-def]
    """Ask for a refund, answer the agent's question, and stop where an admin must sign off."""
    run_id = await start_refund(e, who)
    await e.runtime.wait(who, run_id, 10, until=WAITING)
    [question] = await store.decisions.questions(who.tenant_id, run_id=run_id)
    await e.runtime.answer(who, question.id, reason)
    await e.runtime.wait(who, run_id, 10, until=frozenset({RunStatus.WAITING_APPROVAL}))
    [approval] = await store.decisions.approvals(who.tenant_id, run_id=run_id)
    return run_id, approval


async def test_refund_demo_with_question_and_admin_sign_off(
    store: ContextStore, tenant: TenantFixture, demo_model: OpenAIGateway
) -> None:
    async with engine(store, demo_model) as e:
        rt = e.runtime
        run_id = await start_refund(e, tenant.member)
        run = await rt.wait(tenant.member, run_id, 10, until=WAITING)
        assert run.status is RunStatus.WAITING_INPUT
        [question] = await store.decisions.questions(tenant.id, run_id=run_id)
        assert question.options == ["defective", "wrong item", "changed mind"]
        with pytest.raises(Forbidden):
            await rt.answer(tenant.other_member, question.id, "defective")
        await rt.answer(tenant.member, question.id, "1")

        run = await rt.wait(tenant.member, run_id, 10, until=frozenset({RunStatus.WAITING_APPROVAL}))
        [approval] = await rt.approvals(tenant.admin)
        assert (approval.tool, approval.tier, approval.args) == (
            "refund_order",
            "admin",
            {"order_id": 42, "reason": "defective", "amount": 59.9},
        )
        for wrong in (tenant.member, tenant.other_member):
            with pytest.raises(Forbidden):
                await rt.decide(wrong, approval.id, approve=True)
        await rt.decide(tenant.admin, approval.id, approve=True)
        run = await rt.wait(
            tenant.member, run_id, 10, until=frozenset({RunStatus.COMPLETED, RunStatus.FAILED})
        )

    assert run.status is RunStatus.COMPLETED
    assert run.answer is not None and run.answer.startswith("Done: I refunded 59.9 for order 42")
    assert len(refunds_for(run_id)) == 1
    types = [ev.type for ev in await store.runs.events(tenant.id, run_id)]
    for expected in (
        "QuestionAsked",
        "QuestionAnswered",
        "ApprovalRequested",
        "ApprovalDecided",
        "ToolCallSucceeded",
        "RunCompleted",
    ):
        assert expected in types
    actions = [(a.action, a.tool) for a in await store.audit.query(tenant.id)]
    assert actions.count(("approval.refused", "refund_order")) == 2
    assert actions.count(("question.refused", "ask_user")) == 1
    for expected in [
        ("tool.proposed", "lookup_order"),
        ("tool.executed", "lookup_order"),
        ("tool.proposed", "ask_user"),
        ("question.asked", "ask_user"),
        ("question.answered", "ask_user"),
        ("tool.proposed", "refund_order"),
        ("approval.requested", "refund_order"),
        ("approval.approved", "refund_order"),
        ("tool.executed", "refund_order"),
    ]:
        assert expected in actions, expected
    approved = next(a for a in await store.audit.query(tenant.id) if a.action == "approval.approved")
    assert approved.actor_user_id == tenant.admin.user_id and approved.detail["args"]["order_id"] == 42


async def test_nobody_approves_their_own_admin_request(
    store: ContextStore, tenant: TenantFixture, demo_model: OpenAIGateway
) -> None:
    second_admin = await store.directory.create_user(tenant.id, "root2", Role.ADMIN)
    other_admin = Principal(tenant.id, second_admin.id, Role.ADMIN)
    async with engine(store, demo_model) as e:
        run_id, approval = await refund_awaiting_approval(e, store, tenant.admin, "changed mind")
        with pytest.raises(Forbidden, match="own request"):
            await e.runtime.decide(tenant.admin, approval.id, approve=True)
        await e.runtime.decide(other_admin, approval.id, approve=True)
        run = await e.runtime.wait(tenant.admin, run_id, 10, until=frozenset({RunStatus.COMPLETED}))
    assert run.status is RunStatus.COMPLETED


async def test_ten_concurrent_clicks_make_one_decision_and_one_resume(
    store: ContextStore, tenant: TenantFixture, demo_model: OpenAIGateway
) -> None:
    async with engine(store, demo_model) as e:
        run_id, approval = await refund_awaiting_approval(e, store, tenant.member, "defective")
        results = await asyncio.gather(
            *[e.runtime.decide(tenant.admin, approval.id, approve=True) for _ in range(10)],
            return_exceptions=True,
        )
        run = await e.runtime.wait(tenant.member, run_id, 10, until=frozenset({RunStatus.COMPLETED}))
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(
        isinstance(r, Conflict) and r.code == "already_decided" for r in results if isinstance(r, Exception)
    )
    events = await store.runs.events(tenant.id, run_id)
    assert sum(ev.type == "ApprovalDecided" for ev in events) == 1
    assert sum(ev.type == "RunStarted" for ev in events) == 3  # start, after the answer, after the approval
    assert run.status is RunStatus.COMPLETED and len(refunds_for(run_id)) == 1


async def test_denial_reaches_the_agent_with_its_reason(
    store: ContextStore, tenant: TenantFixture, demo_model: OpenAIGateway
) -> None:
    async with engine(store, demo_model) as e:
        run_id, approval = await refund_awaiting_approval(e, store, tenant.member, "wrong item")
        await e.runtime.decide(
            tenant.admin, approval.id, approve=False, reason="order already refunded by phone"
        )
        run = await e.runtime.wait(tenant.member, run_id, 10, until=frozenset({RunStatus.COMPLETED}))
        with pytest.raises(Conflict, match="already denied"):
            await e.runtime.decide(tenant.admin, approval.id, approve=True)
    assert run.answer is not None and "not carried out" in run.answer
    assert "order already refunded by phone" in run.answer
    assert refunds_for(run_id) == []
