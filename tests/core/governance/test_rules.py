"""Tiers, tenant policy, expiry, verbatim arguments and reconciliation, on a port-level model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import update

from bots.support import bot as support_bot
from core.bots import Bot, BotRegistry
from core.engine.gate import GateOptions
from core.engine.worker import WorkerOptions
from core.errors import Conflict, Forbidden
from core.lifecycle import RunStatus
from core.model.port import Message
from core.runtime import Submission
from core.store.context import ContextStore
from core.store.schema import checkpoints
from core.tiers import Tier
from tests.conftest import TenantFixture
from tests.core.engine.harness import engine
from tests.fakes.invocations import record_invocation
from tests.fakes.ledger_bot import read_ledger
from tests.fakes.models import Call, FunctionModel, Reply, Say, last_tool_results

ENDED = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.NEEDS_RECONCILIATION})
PARKED = frozenset({RunStatus.WAITING_APPROVAL, RunStatus.NEEDS_RECONCILIATION}) | ENDED


@pytest.fixture(autouse=True)
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("LEDGER_PATH", str(path))
    return path


def charge_then_report(amount: int) -> FunctionModel:
    def policy(messages: list[Message]) -> Reply:
        results = last_tool_results(messages)
        return Say("result: " + results[0]) if results else [Call("charge", {"amount": amount})]

    return FunctionModel(policy)


class HeldModel(FunctionModel):
    """Answers only once the test lets it, so the test can set the stage first."""

    gate: asyncio.Event

    async def complete(self, request, on_delta=None):  # type: ignore[no-untyped-def]
        await self.gate.wait()
        return await super().complete(request, on_delta)


def held_charge() -> HeldModel:
    model = HeldModel(charge_then_report(5).policy)
    model.gate = asyncio.Event()
    return model


async def charge_run(e, who, amount: int = 5) -> str:  # type: ignore[no-untyped-def]
    submitted = await e.runtime.submit(who, Submission(bot="ledger", text=f"charge {amount}"))
    return submitted.run.id


async def test_user_tier_is_decided_by_the_requester_only(store: ContextStore, tenant: TenantFixture) -> None:
    async with engine(store, charge_then_report(5)) as e:
        run_id = await charge_run(e, tenant.member)
        await e.runtime.wait(tenant.member, run_id, 10, until=PARKED)
        [approval] = await e.runtime.approvals(tenant.member)
        assert approval.tier == "user"
        for wrong in (tenant.other_member, tenant.admin):
            with pytest.raises(Forbidden, match="Only the person who asked"):
                await e.runtime.decide(wrong, approval.id, approve=True)
        assert await e.runtime.approvals(tenant.other_member) == []
        await e.runtime.decide(tenant.member, approval.id, approve=True)
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.answer == 'result: {"charged": 5}' and len(read_ledger()) == 1


async def test_tenant_policy_raises_the_tier(store: ContextStore, tenant: TenantFixture) -> None:
    await store.policies.add(tenant.id, "charge", Tier.ADMIN, {"arg": "amount", "op": ">", "value": 100})
    async with engine(store, charge_then_report(500)) as e:
        big = await charge_run(e, tenant.member, 500)
        await e.runtime.wait(tenant.member, big, 10, until=PARKED)
        [approval] = await e.runtime.approvals(tenant.admin)
        assert approval.tier == "admin"
        with pytest.raises(Forbidden, match="Only an admin"):
            await e.runtime.decide(tenant.member, approval.id, approve=True)
        await e.runtime.decide(tenant.admin, approval.id, approve=True)
        assert (await e.runtime.wait(tenant.member, big, 10, until=ENDED)).status is RunStatus.COMPLETED


def test_a_bot_cannot_lower_a_tools_tier() -> None:
    lowered = Bot(
        name="lax", instructions="", tools=support_bot.tools, tool_tiers={"refund_order": Tier.USER}
    )
    with pytest.raises(ValueError, match="cannot be lowered"):
        BotRegistry([lowered])
    raised = Bot(
        name="strict", instructions="", tools=support_bot.tools, tool_tiers={"lookup_order": Tier.ADMIN}
    )
    assert BotRegistry([raised]).get("strict").tool_tiers["lookup_order"] is Tier.ADMIN


async def test_expired_approval_goes_back_to_the_agent(store: ContextStore, tenant: TenantFixture) -> None:
    options = WorkerOptions(gate=GateOptions(approval_ttl_s=0.3))
    async with engine(store, charge_then_report(5), options=options) as e:
        run_id = await charge_run(e, tenant.member)
        await e.runtime.wait(tenant.member, run_id, 10, until=PARKED)
        [approval] = await e.runtime.approvals(tenant.member)
        await asyncio.sleep(0.4)
        with pytest.raises(Conflict, match="expired"):
            await e.runtime.decide(tenant.member, approval.id, approve=True)
        for run in await store.decisions.expire_due():  # what the sweeper does every few seconds
            await e.queue.enqueue(run.id)
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.status is RunStatus.COMPLETED and "approval_expired" in (run.answer or "")
    assert read_ledger() == []


async def test_the_approved_arguments_run_never_regenerated_ones(
    store: ContextStore, tenant: TenantFixture
) -> None:
    async with engine(store, charge_then_report(5)) as e:
        run_id = await charge_run(e, tenant.member)
        run = await e.runtime.wait(tenant.member, run_id, 10, until=PARKED)
        # Something rewrites the pending call's arguments after the approval was requested.
        where = (checkpoints.c.run_id == run_id, checkpoints.c.step == run.step)

        def rewrite(conn):  # type: ignore[no-untyped-def]
            saved = dict(conn.execute(checkpoints.select().where(*where)).one().state)
            saved["pending"][0]["args"] = {"amount": 5000}
            conn.execute(update(checkpoints).where(*where).values(state=saved))

        await store.db.run(rewrite)
        [approval] = await e.runtime.approvals(tenant.member)
        await e.runtime.decide(tenant.member, approval.id, approve=True)
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.status is RunStatus.FAILED and run.error_code == "approval_mismatch"
    assert read_ledger() == []


async def test_unknown_outcome_is_reconciled_by_an_admin(store: ContextStore, tenant: TenantFixture) -> None:

    model = held_charge()
    async with engine(store, model, approve=tenant.id) as e:
        run_id = await charge_run(e, tenant.member)
        # A worker recorded the intent, then died before recording the outcome.
        await record_invocation(store, tenant.id, run_id, f"{run_id}:1:0", "charge", {"amount": 5})
        model.gate.set()
        run = await e.runtime.wait(
            tenant.member, run_id, 10, until=frozenset({RunStatus.NEEDS_RECONCILIATION})
        )
        assert run.status is RunStatus.NEEDS_RECONCILIATION
        with pytest.raises(Forbidden):
            await e.runtime.reconcile(tenant.member, run_id, "done")
        await e.runtime.reconcile(tenant.admin, run_id, "done", note="checked the payment provider")
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.status is RunStatus.COMPLETED
    assert json.loads(run.answer.removeprefix("result: "))["reconciled"] == "done"  # type: ignore[union-attr]
    assert read_ledger() == []  # nothing was repeated
    assert any(a.action == "reconcile.done" for a in await store.audit.query(tenant.id))


async def test_reconcile_retry_calls_the_tool_again(store: ContextStore, tenant: TenantFixture) -> None:

    model = held_charge()
    async with engine(store, model, approve=tenant.id) as e:
        run_id = await charge_run(e, tenant.member)
        await record_invocation(store, tenant.id, run_id, f"{run_id}:1:0", "charge", {"amount": 5})
        model.gate.set()
        await e.runtime.wait(tenant.member, run_id, 10, until=frozenset({RunStatus.NEEDS_RECONCILIATION}))
        await e.runtime.reconcile(tenant.admin, run_id, "retry")
        run = await e.runtime.wait(tenant.member, run_id, 10, until=ENDED)
    assert run.answer == 'result: {"charged": 5}' and len(read_ledger()) == 1


async def test_cancel_withdraws_pending_approvals(store: ContextStore, tenant: TenantFixture) -> None:
    async with engine(store, charge_then_report(5)) as e:
        run_id = await charge_run(e, tenant.member)
        await e.runtime.wait(tenant.member, run_id, 10, until=PARKED)
        [approval] = await e.runtime.approvals(tenant.member)
        await e.runtime.cancel(tenant.member, run_id)
        with pytest.raises(Conflict, match="cancelled"):
            await e.runtime.decide(tenant.member, approval.id, approve=True)
    assert read_ledger() == []


def test_a_rule_about_a_missing_argument_still_applies() -> None:
    from core.tiers import PolicyRule

    rule = PolicyRule("refund_order", Tier.ADMIN, {"arg": "amount", "op": ">", "value": 100})
    assert rule.applies("refund_order", {"order_id": 1})  # left out: cannot be shown not to apply
    assert rule.applies("refund_order", {"amount": 500}) and not rule.applies("refund_order", {"amount": 5})
    assert not rule.applies("lookup_order", {"amount": 500})
