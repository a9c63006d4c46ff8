"""Approvals, questions, reconciliation and the audit log over REST, on a real store (SQLite and
PostgreSQL) and a real engine. The model calls tools by keyword in the user's message:

- "ship"   → the ledger bot's `ship` (an external side effect: the requester approves)
- "refund" → the support bot's `refund_order` (high risk: another admin approves)
- "ask"    → the built-in `ask_user`
- "poke"   → a probe bot's non-idempotent call that times out (its outcome is unknown)

After a tool round it answers with the last tool result, so the tests read what the agent saw.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bots.support import bot as support_bot
from core.bots import Bot, BotRegistry
from core.engine.notifier import RunNotifier
from core.engine.worker import StepWorker, WorkerOptions
from core.model.port import Message
from core.queue.inprocess import InProcessQueue
from core.records import Role
from core.runtime import Runtime
from core.store.context import ContextStore
from core.tools import RiskLevel, tool
from tests.channels.api.conftest import api_app, auth
from tests.conftest import TenantFixture, make_tenant
from tests.fakes.ledger_bot import bot as ledger_bot
from tests.fakes.ledger_bot import read_ledger
from tests.fakes.models import Call, FunctionModel, Reply, Say, last_tool_results

Json = dict[str, Any]
DONE = {"completed", "failed", "cancelled"}
REASONS = ["defective", "wrong item", "changed mind"]
PLAN = {
    "ship": Call("ship", {"item": "a"}),
    "refund": Call("refund_order", {"order_id": 42, "amount": 10.0, "reason": "defective"}),
    "ask": Call("ask_user", {"question": "Why do you want a refund?", "options": REASONS}),
    "poke": Call("poke", {}),
}


@tool(risk=RiskLevel.READ, timeout_s=0.05)
async def poke() -> dict[str, Any]:
    """Poke a system that never answers in time (not idempotent)."""
    await asyncio.sleep(5)
    return {"poked": True}  # pragma: no cover


probe_bot = Bot(name="probe", instructions="Poke.", tools=(poke,))


def by_keyword(messages: list[Message]) -> Reply:
    results = last_tool_results(messages)
    if results:
        return Say("tool said: " + results[-1])
    user = next(str(m["content"]) for m in reversed(messages) if m["role"] == "user")
    return next(([call] for word, call in PLAN.items() if word in user), Say("hello"))


@dataclass(frozen=True)
class Keys:
    member: str  # alice
    other_member: str  # bob
    admin: str  # root
    other_admin: str  # root2
    stranger: str  # an admin of another tenant


@dataclass
class Desk:
    client: httpx.AsyncClient
    model: FunctionModel
    keys: Keys
    tenant: TenantFixture
    root2: str  # the second admin's user id

    async def submit(self, key: str, bot: str, message: str) -> Json:
        response = await self.client.post(
            "/v1/runs", json={"bot": bot, "message": message}, headers=auth(key)
        )
        assert response.status_code == 202, response.text
        body: Json = response.json()
        return body

    async def run(self, key: str, run_id: str, until: set[str] = DONE, timeout: float = 10) -> Json:
        async with asyncio.timeout(timeout):
            while True:
                view = await self.get(key, f"/v1/runs/{run_id}")
                if view["status"] in until:
                    return view
                await asyncio.sleep(0.02)

    async def parked(self, key: str, bot: str, message: str) -> Json:
        """Submit and wait until the run waits for a person."""
        run = await self.submit(key, bot, message)
        return await self.run(
            key, run["id"], {"waiting_approval", "waiting_input", "needs_reconciliation"} | DONE
        )

    async def get(self, key: str, path: str) -> Json:
        response = await self.client.get(path, headers=auth(key))
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    async def post(self, key: str, path: str, body: Json) -> httpx.Response:
        return await self.client.post(path, json=body, headers=auth(key))

    async def events(self, key: str, run_id: str) -> list[Json]:
        response = await self.client.get(
            f"/v1/runs/{run_id}/events", headers={**auth(key), "Accept": "application/json"}
        )
        events: list[Json] = response.json()["events"]
        return events


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, response.text
    message: str = error["message"]
    return message


@pytest.fixture
async def desk(
    store: ContextStore, tenant: TenantFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Desk]:
    monkeypatch.setenv("LEDGER_PATH", str(tmp_path / "ledger.jsonl"))
    root2 = await store.directory.create_user(tenant.id, "root2", Role.ADMIN)
    other = await make_tenant(store, "globex")
    create = store.directory.create_api_key
    keys = Keys(
        member=await create(tenant.id, tenant.member.user_id),
        other_member=await create(tenant.id, tenant.other_member.user_id),
        admin=await create(tenant.id, tenant.admin.user_id),
        other_admin=await create(tenant.id, root2.id),
        stranger=await create(other.id, other.admin.user_id),
    )
    model = FunctionModel(by_keyword)
    bots = BotRegistry([support_bot, ledger_bot, probe_bot])
    notifier = RunNotifier()
    worker = StepWorker(store, bots, model, WorkerOptions(), notifier=notifier)
    queue = InProcessQueue(worker.advance, 4)
    app = api_app(Runtime(store, bots, queue, notifier), store)
    await queue.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            yield Desk(client, model, keys, tenant, root2.id)
    finally:
        await queue.stop()


# --- approvals -------------------------------------------------------------------------------


async def test_pending_approvals_are_listed_by_role_and_show_who_may_decide(desk: Desk) -> None:
    k = desk.keys
    alice = await desk.parked(k.member, "ledger", "ship it")
    bob = await desk.parked(k.other_member, "ledger", "ship it")
    root = await desk.parked(k.admin, "support", "refund order 42")
    assert alice["status"] == bob["status"] == root["status"] == "waiting_approval"

    async def listed(key: str, query: str = "") -> dict[str, Json]:
        return {a["run_id"]: a for a in (await desk.get(key, f"/v1/approvals{query}"))["approvals"]}

    mine = await listed(k.member)
    assert list(mine) == [alice["id"]]
    view = mine[alice["id"]]
    assert view["tool"] == "ship" and view["args"] == {"item": "a"} and view["tier"] == "user"
    assert view["requester_id"] == desk.tenant.member.user_id and view["status"] == "pending"
    assert view["may_decide"] is True and view["decided_by"] is None and view["decided_at"] is None
    assert view["expires_at"] > view["created_at"] and view["created_at"].endswith("Z")
    assert alice["pending"] == {"kind": "approval", "id": view["id"]}

    everything = await listed(k.admin)
    assert set(everything) == {alice["id"], bob["id"], root["id"]}
    assert [everything[r]["may_decide"] for r in (alice["id"], bob["id"], root["id"])] == [False] * 3
    refund = (await listed(k.other_admin))[root["id"]]
    assert refund["tier"] == "admin" and refund["may_decide"] is True
    assert await listed(k.stranger) == {}
    assert await listed(k.member, "?status=approved") == {}
    assert list(await listed(k.member, "?status=all")) == [alice["id"]]
    assert_error(
        await desk.client.get("/v1/approvals?status=maybe", headers=auth(k.member)), 422, "invalid_input"
    )
    # A member sees only the approvals they asked for, one by one too.
    assert_error(
        await desk.client.get(f"/v1/approvals/{view['id']}", headers=auth(k.other_member)), 404, "not_found"
    )
    assert (await desk.get(k.admin, f"/v1/approvals/{view['id']}"))["id"] == view["id"]


async def test_the_requester_approves_a_user_tier_call_and_the_run_completes(desk: Desk) -> None:
    run = await desk.parked(k := desk.keys.member, "ledger", "ship it")
    approval_id = run["pending"]["id"]

    # A colleague cannot see it, so deciding it is a 404 too: ids cannot be probed by deciding.
    refused = await desk.post(desk.keys.other_member, f"/v1/approvals/{approval_id}", {"decision": "approve"})
    assert_error(refused, 404, "not_found")
    # An admin sees it but may not decide a user-tier call.
    refused = await desk.post(desk.keys.admin, f"/v1/approvals/{approval_id}", {"decision": "approve"})
    assert "Only the person who asked" in assert_error(refused, 403, "forbidden")
    assert (await desk.get(k, f"/v1/approvals/{approval_id}"))["status"] == "pending"
    assert (await desk.get(k, f"/v1/runs/{run['id']}"))["status"] == "waiting_approval"
    assert read_ledger() == []

    approved = await desk.post(k, f"/v1/approvals/{approval_id}", {"decision": "approve", "reason": None})
    assert approved.status_code == 200, approved.text
    view = approved.json()
    assert view["status"] == "approved" and view["decided_by"] == desk.tenant.member.user_id
    assert view["decided_at"].endswith("Z") and view["may_decide"] is False

    done = await desk.run(k, run["id"])
    assert done["status"] == "completed" and json.loads(done["answer"].removeprefix("tool said: ")) == {
        "shipped": "a"
    }
    assert done["pending"] is None
    assert [(e["tool"], e["item"]) for e in read_ledger()] == [("ship", "a")]

    again = await desk.post(k, f"/v1/approvals/{approval_id}", {"decision": "deny"})
    assert "already approved" in assert_error(again, 409, "already_decided")


async def test_an_admin_tier_call_needs_another_admin(desk: Desk) -> None:
    k = desk.keys
    run = await desk.parked(k.admin, "support", "please refund order 42")
    approval_id = run["pending"]["id"]
    path = f"/v1/approvals/{approval_id}"

    assert_error(await desk.post(k.member, path, {"decision": "approve"}), 404, "not_found")  # not theirs
    by_requester = await desk.post(k.admin, path, {"decision": "approve"})
    assert "your own request" in assert_error(by_requester, 403, "forbidden")
    assert (await desk.get(k.admin, path))["status"] == "pending"

    approved = await desk.post(k.other_admin, path, {"decision": "approve"})
    assert approved.status_code == 200 and approved.json()["decided_by"] == desk.root2
    done = await desk.run(k.admin, run["id"])
    assert done["status"] == "completed" and '"status": "refunded"' in done["answer"]


async def test_a_denial_reaches_the_agent_as_the_tools_result(desk: Desk) -> None:
    run = await desk.parked(k := desk.keys.member, "ledger", "ship it")
    denied = await desk.post(
        k, f"/v1/approvals/{run['pending']['id']}", {"decision": "deny", "reason": "not today"}
    )
    assert denied.status_code == 200 and denied.json()["status"] == "denied"
    assert denied.json()["reason"] == "not today"

    done = await desk.run(k, run["id"])
    seen = json.loads(desk.model.requests[-1].messages[-1]["content"])
    assert seen["error"] == "denied" and "not today" in seen["message"]
    assert done["status"] == "completed" and "not today" in done["answer"]
    assert read_ledger() == []
    kinds = [e["type"] for e in await desk.events(k, run["id"])]
    assert kinds.index("ApprovalDecided") < kinds.index("ToolCallDenied") < kinds.index("RunCompleted")


async def test_ten_concurrent_approvals_make_one_decision(desk: Desk) -> None:
    run = await desk.parked(k := desk.keys.member, "ledger", "ship it")
    path = f"/v1/approvals/{run['pending']['id']}"
    responses = await asyncio.gather(*(desk.post(k, path, {"decision": "approve"}) for _ in range(10)))

    assert sorted(r.status_code for r in responses) == [200] + [409] * 9
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"already_decided"}
    assert (await desk.run(k, run["id"]))["status"] == "completed"
    kinds = [e["type"] for e in await desk.events(k, run["id"])]
    assert kinds.count("ApprovalDecided") == 1 and kinds.count("ToolCallSucceeded") == 1
    assert len(read_ledger()) == 1


async def test_invalid_decisions_are_422(desk: Desk) -> None:
    run = await desk.parked(k := desk.keys.member, "ledger", "ship it")
    path = f"/v1/approvals/{run['pending']['id']}"
    for body in (
        {},
        {"decision": "maybe"},
        {"decision": "approve", "extra": 1},
        {"decision": "deny", "reason": 5},
    ):
        assert_error(await desk.post(k, path, body), 422, "invalid_input")
    assert_error(await desk.post(k, "/v1/approvals/apr_nope", {"decision": "approve"}), 404, "not_found")
    assert (await desk.get(k, path))["status"] == "pending"


# --- questions -------------------------------------------------------------------------------


async def test_questions_are_answered_by_the_person_asked(desk: Desk) -> None:
    k = desk.keys
    run = await desk.parked(k.member, "support", "ask me")
    assert run["status"] == "waiting_input" and run["pending"]["kind"] == "question"
    path = f"/v1/questions/{run['pending']['id']}"

    question = await desk.get(k.member, path)
    assert question["prompt"] == "Why do you want a refund?" and question["options"] == REASONS
    assert question["allow_free_text"] is False and question["asked_of"] == desk.tenant.member.user_id
    assert (
        question["status"] == "pending"
        and question["answer"] is None
        and question["expires_at"].endswith("Z")
    )
    assert (await desk.get(k.admin, path))["id"] == question["id"]
    assert_error(await desk.client.get(path, headers=auth(k.other_member)), 404, "not_found")

    assert_error(await desk.post(k.other_member, path, {"answer": "1"}), 404, "not_found")
    assert "Only the person" in assert_error(
        await desk.post(k.admin, path, {"answer": "1"}), 403, "forbidden"
    )
    assert "defective" in assert_error(
        await desk.post(k.member, path, {"answer": "maybe"}), 422, "invalid_input"
    )
    assert_error(await desk.post(k.member, path, {"answer": "4"}), 422, "invalid_input")
    assert_error(await desk.post(k.member, path, {"answer": ""}), 422, "invalid_input")

    answered = await desk.post(k.member, path, {"answer": "2"})
    assert answered.status_code == 200, answered.text
    view = answered.json()
    assert view["status"] == "answered" and view["answer"] == "wrong item"
    assert view["answered_by"] == desk.tenant.member.user_id and view["answered_at"].endswith("Z")
    done = await desk.run(k.member, run["id"])
    assert json.loads(done["answer"].removeprefix("tool said: "))["answer"] == "wrong item"
    assert_error(await desk.post(k.member, path, {"answer": "1"}), 409, "already_decided")

    by_text = await desk.parked(k.member, "support", "ask again")
    answered = await desk.post(
        k.member, f"/v1/questions/{by_text['pending']['id']}", {"answer": " Defective "}
    )
    assert answered.status_code == 200 and answered.json()["answer"] == "defective"


# --- reconciliation --------------------------------------------------------------------------


async def test_only_an_admin_reconciles_and_the_run_continues(desk: Desk) -> None:
    k = desk.keys
    run = await desk.parked(k.member, "probe", "poke it")
    assert run["status"] == "needs_reconciliation" and run["pending"] is None
    path = f"/v1/runs/{run['id']}/reconcile"

    assert "Only an admin" in assert_error(
        await desk.post(k.member, path, {"decision": "done"}), 403, "forbidden"
    )
    assert_error(await desk.post(k.other_member, path, {"decision": "done"}), 404, "not_found")
    assert_error(await desk.post(k.admin, path, {"decision": "maybe"}), 422, "invalid_input")

    reconciled = await desk.post(k.admin, path, {"decision": "done", "note": "it did go through"})
    assert reconciled.status_code == 200, reconciled.text
    assert reconciled.json()["id"] == run["id"] and reconciled.json()["status"] in (
        "queued",
        "running",
        "completed",
    )
    done = await desk.run(k.member, run["id"])
    assert done["status"] == "completed" and '"reconciled": "done"' in done["answer"]
    assert "it did go through" in done["answer"]
    assert_error(await desk.post(k.admin, path, {"decision": "done"}), 409, "not_waiting")


# --- audit -----------------------------------------------------------------------------------


async def test_the_audit_log_is_for_admins(desk: Desk) -> None:
    k = desk.keys
    run = await desk.parked(k.member, "ledger", "ship it")
    await desk.post(k.admin, f"/v1/approvals/{run['pending']['id']}", {"decision": "approve"})
    await desk.post(k.member, f"/v1/approvals/{run['pending']['id']}", {"decision": "approve"})
    await desk.run(k.member, run["id"])
    other = await desk.submit(k.member, "support", "hello")
    await desk.run(k.member, other["id"])

    entries = (await desk.get(k.admin, f"/v1/audit?run_id={run['id']}"))["entries"]
    assert [e["action"] for e in entries] == [
        "tool.proposed",
        "approval.requested",
        "approval.refused",
        "approval.approved",
        "tool.executed",
    ]
    assert all(
        e["run_id"] == run["id"] and e["tool"] == "ship" and e["created_at"].endswith("Z") for e in entries
    )
    refused = entries[2]
    assert refused["actor_user_id"] == desk.tenant.admin.user_id and "Only the person" in str(
        refused["detail"]
    )
    assert entries[3]["actor_user_id"] == desk.tenant.member.user_id and entries[3]["detail"]["args"] == {
        "item": "a"
    }

    async def actions(query: str) -> list[str]:
        return [e["action"] for e in (await desk.get(k.admin, f"/v1/audit?{query}"))["entries"]]

    assert await actions(f"user_id={desk.tenant.admin.user_id}") == ["approval.refused"]
    assert await actions("tool=ship&limit=2") == ["approval.approved", "tool.executed"]  # the newest two
    assert len(await actions("since=0")) == len(await actions("")) >= 5
    assert await actions("since=2999-01-01T00:00:00Z") == []
    assert await actions("until=2000-01-01T00:00:00") == []
    assert await actions(f"run_id={other['id']}") == []  # a run of the tenant with nothing to audit
    for bad in ("since=yesterday", "until=nan", "limit=0", "limit=1001"):
        assert_error(await desk.client.get(f"/v1/audit?{bad}", headers=auth(k.admin)), 422, "invalid_input")
    assert "admins" in assert_error(
        await desk.client.get("/v1/audit", headers=auth(k.member)), 403, "forbidden"
    )


# --- isolation -------------------------------------------------------------------------------


async def test_a_colleagues_items_answer_every_verb_as_unknown_ids_do(desk: Desk) -> None:
    """Whatever a member may not see, they may not probe by acting on it either: a colleague's
    approval, question or run gives the very answer an id that does not exist gives."""
    k = desk.keys
    shipping = await desk.parked(k.member, "ledger", "ship it")
    asking = await desk.parked(k.member, "support", "ask me")
    poking = await desk.parked(k.member, "probe", "poke it")
    theirs = {
        "approval": f"/v1/approvals/{shipping['pending']['id']}",
        "question": f"/v1/questions/{asking['pending']['id']}",
        "run": f"/v1/runs/{poking['id']}",
    }
    unknown = {
        "approval": "/v1/approvals/apr_nope",
        "question": "/v1/questions/qst_nope",
        "run": "/v1/runs/run_nope",
    }
    verbs = [
        ("approval", "", {"decision": "approve"}),
        ("approval", "", {"decision": "deny", "reason": "no"}),
        ("question", "", {"answer": "1"}),
        ("run", "/reconcile", {"decision": "done"}),
        ("run", "/cancel", None),
        ("run", "/resume", None),
    ]
    for kind, suffix, body in verbs:
        for paths in (theirs, unknown):
            response = await desk.client.post(paths[kind] + suffix, json=body, headers=auth(k.other_member))
            assert_error(response, 404, "not_found")
        assert_error(await desk.client.get(theirs[kind], headers=auth(k.other_member)), 404, "not_found")

    for run, status in (
        (shipping, "waiting_approval"),
        (asking, "waiting_input"),
        (poking, "needs_reconciliation"),
    ):
        assert (await desk.get(k.member, f"/v1/runs/{run['id']}"))["status"] == status


async def test_a_member_sees_their_admin_tier_request_and_may_withdraw_it_but_not_approve_it(
    desk: Desk,
) -> None:
    k = desk.keys
    run = await desk.parked(k.member, "support", "please refund order 42")
    path = f"/v1/approvals/{run['pending']['id']}"
    seen = await desk.get(k.member, path)
    assert seen["tier"] == "admin" and seen["may_decide"] is False

    assert "Only an admin" in assert_error(
        await desk.post(k.member, path, {"decision": "approve"}), 403, "forbidden"
    )
    assert_error(await desk.post(k.other_member, path, {"decision": "approve"}), 404, "not_found")
    withdrawn = await desk.post(k.member, path, {"decision": "deny", "reason": "never mind"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "denied"


async def test_another_tenant_gets_404_on_every_decision_route(desk: Desk) -> None:
    k = desk.keys
    shipping = await desk.parked(k.member, "ledger", "ship it")
    asking = await desk.parked(k.member, "support", "ask me")
    poking = await desk.parked(k.member, "probe", "poke it")
    approval = f"/v1/approvals/{shipping['pending']['id']}"
    question = f"/v1/questions/{asking['pending']['id']}"

    requests = [
        desk.client.get(approval, headers=auth(k.stranger)),
        desk.post(k.stranger, approval, {"decision": "approve"}),
        desk.post(k.stranger, approval, {"decision": "deny"}),
        desk.client.get(question, headers=auth(k.stranger)),
        desk.post(k.stranger, question, {"answer": "1"}),
        desk.post(k.stranger, f"/v1/runs/{poking['id']}/reconcile", {"decision": "done"}),
        desk.client.get(f"/v1/audit?run_id={shipping['id']}", headers=auth(k.stranger)),
    ]
    for response in await asyncio.gather(*requests):
        assert_error(response, 404, "not_found")
    assert (await desk.get(k.stranger, "/v1/approvals?status=all"))["approvals"] == []
    assert (await desk.get(k.stranger, "/v1/audit"))["entries"] == []

    for run, status in (
        (shipping, "waiting_approval"),
        (asking, "waiting_input"),
        (poking, "needs_reconciliation"),
    ):
        assert (await desk.get(k.member, f"/v1/runs/{run['id']}"))["status"] == status
    listed = {r["id"]: r["pending"] for r in (await desk.get(k.member, "/v1/runs"))["runs"]}
    assert listed == {
        shipping["id"]: {"kind": "approval", "id": shipping["pending"]["id"]},
        asking["id"]: {"kind": "question", "id": asking["pending"]["id"]},
        poking["id"]: None,
    }
