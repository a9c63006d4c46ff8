"""The refund demo through the `switchboard` CLI against a running service (the offline demo model,
SQLite and the demo tenant's customer and admin keys). Commands run in-process (`main(argv)`);
the approval that resumes the run and executes the refund runs in a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from service.cli.render import timeline_text
from service.demo import ADMIN_KEY, CUSTOMER_KEY
from tests.channels.web.server import ServiceProcess
from tests.service.cli.conftest import Cli, Result, client_env


def in_a_process(service: ServiceProcess, tmp_path: Path, *args: str, key: str) -> Result:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli.main", *args],
        env=client_env(service, tmp_path) | {"SWITCHBOARD_API_KEY": key},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


def parse(result: Result, code: int) -> Any:
    assert result[0] == code, result
    return json.loads(result[1])


def test_the_refund_demo(cli: Cli, served: ServiceProcess, tmp_path: Path) -> None:
    asked = parse(cli("run", "support", "please refund order 42", "--json"), 3)
    assert asked["status"] == "waiting_input" and asked["pending"]["kind"] == "question"
    question = next(e["payload"] for e in asked["events"] if e["type"] == "QuestionAsked")
    assert question["question_id"] == asked["pending"]["id"]
    assert question["options"] == ["defective", "wrong item", "changed mind"]
    run_id = asked["id"]

    answered = parse(cli("answer", question["question_id"], "defective", "--json"), 3)
    assert answered["question"]["answer"] == "defective"
    waiting = answered["run"]
    assert waiting["status"] == "waiting_approval" and waiting["pending"]["kind"] == "approval"
    assert waiting["pending"]["tool"] == "refund_order" and waiting["pending"]["tier"] == "admin"
    approval_id = waiting["pending"]["id"]

    code, _, err = cli("approve", approval_id)
    assert code == 2 and "Only an admin" in err

    code, out, err = in_a_process(served, tmp_path, "approve", approval_id, key=ADMIN_KEY)
    assert code == 0, err
    assert f"approved {approval_id}: refund_order" in out
    assert f"run {run_id} completed:\nDone: I refunded" in out

    code, logs, _ = cli("logs", run_id)
    assert code == 0
    for line in (
        "QuestionAsked          Why would you like a refund for order 42",
        "[1] defective  [2] wrong item  [3] changed mind",
        'QuestionAnswered       "defective" by demo-alice',
        "ApprovalRequested      refund_order(order_id=42",
        f"needs admin approval, asked by demo-alice (approval {approval_id})",
        "ApprovalDecided        refund_order approved by demo-admin",
    ):
        assert line in logs, logs

    audit = parse(cli("audit", "--run", run_id, "--json", key=ADMIN_KEY), 0)
    steps = [(e["action"], e["tool"], e["actor_user_id"]) for e in audit]
    expected = [
        ("tool.proposed", "lookup_order", "demo-alice"),
        ("tool.proposed", "ask_user", "demo-alice"),
        ("question.asked", "ask_user", "demo-alice"),
        ("question.answered", "ask_user", "demo-alice"),
        ("tool.proposed", "refund_order", "demo-alice"),
        ("approval.requested", "refund_order", "demo-alice"),
        ("approval.refused", "refund_order", "demo-alice"),
        ("approval.approved", "refund_order", "demo-admin"),
        ("tool.executed", "refund_order", None),
    ]
    assert [s for s in steps if s in expected] == expected, steps


def test_the_other_decision_commands(cli: Cli) -> None:
    asked = parse(cli("run", "support", "please refund order 42", "--json"), 3)
    code, out, _ = cli("answer", asked["pending"]["id"], "wrong", "item")
    assert code == 3 and "answered" in out and ": wrong item" in out
    assert "waiting for an admin to approve refund_order(order_id=42" in out
    approval_id = out.split("switchboard approve ")[1].split()[0]

    code, out, _ = cli("approvals")
    [row] = [line for line in out.splitlines() if line.startswith(approval_id)]
    assert code == 0 and "pending" in row and not row.endswith("yes")  # not the customer's to decide
    [listed] = parse(cli("approvals", "--json", key=ADMIN_KEY), 0)
    assert listed["id"] == approval_id and listed["may_decide"] is True and listed["tier"] == "admin"

    # The customer may withdraw their own request; the agent is told why.
    code, out, err = cli("deny", approval_id, "--reason", "found it after all")
    assert code == 0, err
    assert f"denied {approval_id}" in out and "not carried out" in out and "found it after all" in out
    code, _, err = cli("approve", approval_id, key=ADMIN_KEY)
    assert code == 2 and "already denied by demo-alice" in err
    assert cli("approvals")[1].strip() == "no approvals are waiting"
    [decided] = parse(cli("approvals", "--all", "--json"), 0)
    assert decided["status"] == "denied" and decided["reason"] == "found it after all"

    code, out, _ = cli("audit", "--run", asked["id"], "--tool", "refund_order", key=ADMIN_KEY)
    assert code == 0 and "approval.denied" in out and "demo-alice" in out and "lookup_order" not in out
    assert cli("audit", "--since", "2999-01-01", key=ADMIN_KEY)[1].strip() == "no audit entries"
    code, _, err = cli("audit")
    assert code == 2 and "admins" in err
    assert cli("audit", "--since", "yesterday", key=ADMIN_KEY)[0] == 2

    for key, needle in ((CUSTOMER_KEY, "Only an admin"), (ADMIN_KEY, "not waiting for reconciliation")):
        code, _, err = cli("reconcile", asked["id"], "done", key=key)
        assert code == 2 and needle in err
    assert cli("reconcile", asked["id"], "maybe")[0] == 2


def test_logs_render_each_governance_event_on_one_line() -> None:
    payloads: list[tuple[str, dict[str, Any], str]] = [
        (
            "ToolCallDenied",
            {"tool": "ship", "decision": "denied", "reason": "not today"},
            "ship not run: denied: not today",
        ),
        (
            "ApprovalDecided",
            {
                "approval_id": "apr_1",
                "tool": "ship",
                "decision": "expired",
                "by": None,
                "reason": "nobody decided in time",
            },
            "ship expired: nobody decided in time (approval apr_1)",
        ),
        (
            "QuestionAsked",
            {
                "question_id": "qst_1",
                "prompt": "Size?",
                "options": ["S", "M"],
                "allow_free_text": True,
                "asked_of": "u1",
            },
            "Size?  [1] S  [2] M  or free text  (question qst_1, for u1)",
        ),
        ("QuestionExpired", {"question_id": "qst_1"}, "nobody answered question qst_1 in time"),
        (
            "RunReconciled",
            {"decision": "not_done", "by": "root", "note": "bank says no", "keys": ["k"]},
            "marked not_done by root: bank says no",
        ),
        (
            "GuardrailApplied",
            {"stage": "output", "guard": "secrets", "action": "redact", "findings": ["api_key"]},
            "output: secrets redact (api_key)",
        ),
        (
            "GuardrailBlocked",
            {"stage": "input", "reason": "This message looks like an attempt"},
            "input blocked: This message looks like an attempt",
        ),
    ]
    events = [
        {"seq": seq, "type": kind, "payload": payload, "created_at": "2026-12-07T10:00:00.000Z"}
        for seq, (kind, payload, _) in enumerate(payloads, 1)
    ]
    lines = timeline_text(events).splitlines()
    assert len(lines) == len(payloads)
    for line, (kind, _, text) in zip(lines, payloads, strict=True):
        assert line.endswith(f"{kind:<22} {text}"), line
