"""The decision commands, as a client of the REST API: list approvals, approve or deny, answer a
question, reconcile, and read the audit log. A decision resumes its run, so these follow the run
for a while and report where it got to (exit codes as `run`'s)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from service.cli.client import Client, path
from service.cli.commands import exit_code, follow, outcome, outcome_json
from service.cli.output import dumps
from service.cli.render import approvals_table, audit_table, outcome_text

RECONCILE_CHOICES = ("done", "not_done", "retry")  # the API's ReconcileBody.decision


def instant(text: str) -> float:
    """An argparse type: ISO-8601 (UTC when it names no zone) or epoch seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither an ISO-8601 time nor epoch seconds") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def count(text: str) -> int:
    """An argparse type: a positive whole number."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def approvals(client: Client, args: argparse.Namespace) -> int:
    found = client.get("/v1/approvals", {"status": "all" if args.all else "pending", "limit": 200})[
        "approvals"
    ]
    if args.json:
        print(dumps(found))
    elif not found:
        print("no approvals" if args.all else "no approvals are waiting")
    else:
        print(approvals_table(found))
    return 0


def approve(client: Client, args: argparse.Namespace) -> int:
    return _decide(client, args, {"decision": "approve"})


def deny(client: Client, args: argparse.Namespace) -> int:
    return _decide(client, args, {"decision": "deny", "reason": args.reason})


def _decide(client: Client, args: argparse.Namespace, body: dict[str, Any]) -> int:
    approval = client.post(path("approvals", args.approval_id), body)
    head = f"{approval['status']} {approval['id']}: {approval['tool']}"
    return _report(client, args, {"approval": approval}, head, approval["run_id"])


def answer(client: Client, args: argparse.Namespace) -> int:
    question = client.post(path("questions", args.question_id), {"answer": " ".join(args.option)})
    head = f"answered {question['id']}: {question['answer']}"
    return _report(client, args, {"question": question}, head, question["run_id"])


def reconcile(client: Client, args: argparse.Namespace) -> int:
    body = {"decision": args.choice, "note": args.note}
    run = client.post(path("runs", args.run_id, "reconcile"), body)
    return _report(client, args, {}, f"reconciled {run['id']}: {args.choice}", run["id"])


def _report(client: Client, args: argparse.Namespace, decided: dict[str, Any], head: str, run_id: str) -> int:
    run, waiting = outcome(client, follow(client, run_id, args.timeout))
    if args.json:
        print(dumps({**decided, "run": outcome_json(run, waiting)}))
    else:
        print(f"{head}\n{outcome_text(run, waiting)}")
    return exit_code(run["status"])


def audit(client: Client, args: argparse.Namespace) -> int:
    query = {
        "run_id": args.run,
        "user_id": args.user,
        "tool": args.tool,
        "since": args.since,
        "until": args.until,
        "limit": args.limit,
    }
    entries = client.get("/v1/audit", query)["entries"]
    if args.json:
        print(dumps(entries))
    else:
        print(audit_table(entries) if entries else "no audit entries")
    return 0
