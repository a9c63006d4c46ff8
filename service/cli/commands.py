"""The run commands, as a client of the running service's REST API: run, runs, status, logs,
cancel, resume. Each takes the client and its arguments and returns the exit code (see main)."""

from __future__ import annotations

import argparse
import secrets
import time
from typing import Any

from core.lifecycle import ACTIVE, PARKED
from service.cli.client import Client, path
from service.cli.output import dumps, progress, table
from service.cli.render import epoch, outcome_text, run_text, timeline_line, timeline_text, when

# After one of these a run may have left `running`: ask for its status.
_TURNING_POINTS = frozenset(
    {
        "RunCompleted",
        "RunFailed",
        "RunCancelled",
        "RunNeedsReconciliation",
        "ApprovalRequested",
        "QuestionAsked",
    }
)
_STREAM_WAIT_S = 20.0  # longer than the service's 15 s keepalive: a silent stream is a broken one


def exit_code(status: str) -> int:
    if status == "completed":
        return 0
    if status in PARKED:
        return 3
    if status in ACTIVE:
        return 4
    return 1


def follow(client: Client, run_id: str, timeout_s: float) -> dict[str, Any]:
    """Follow the run's events (SSE) until it stops running or `timeout_s` passes; its view then.
    A dropped stream is picked up again after the last event seen."""
    deadline = time.monotonic() + timeout_s
    after, start = 0, None
    while True:
        run: dict[str, Any] = client.get(path("runs", run_id))
        left = deadline - time.monotonic()
        if run["status"] not in ACTIVE or left <= 0:
            return run
        for event in client.events(run_id, after=after, wait_s=min(left, _STREAM_WAIT_S), until=deadline):
            after = event.seq
            start = start if start is not None else epoch(event.data["created_at"])
            progress("  " + timeline_line(event.data, start))
            if event.type in _TURNING_POINTS:
                break


def waiting_for(client: Client, run: dict[str, Any]) -> dict[str, Any] | None:
    """The approval or question a parked run waits for, with its `kind`."""
    pending = run.get("pending")
    if not pending:
        return None
    found: dict[str, Any] = client.get(path(pending["kind"] + "s", pending["id"]))
    return {"kind": pending["kind"], **found}


def outcome(client: Client, run: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    return run, waiting_for(client, run)


def outcome_json(run: dict[str, Any], waiting: dict[str, Any] | None) -> dict[str, Any]:
    return {**run, "pending": waiting}


def events_of(client: Client, run_id: str) -> list[dict[str, Any]]:
    listed = client.request("GET", path("runs", run_id, "events"), query={"follow": "false"})
    events: list[dict[str, Any]] = listed["events"]
    return events


def run(client: Client, args: argparse.Namespace) -> int:
    session = args.session or f"cli-{secrets.token_hex(6)}"
    body = {"bot": args.bot, "message": args.message, "session": session}
    submitted = client.post("/v1/runs", body)
    progress(f"run {submitted['id']} submitted to {client.url}; following it…")
    view, waiting = outcome(client, follow(client, submitted["id"], args.timeout))
    if args.json:
        events = events_of(client, view["id"])
        print(dumps({**outcome_json(view, waiting), "session": session, "events": events}))
    elif view["status"] == "completed":
        print(view["answer"])
        print(
            f"\n(run {view['id']}: `switchboard logs {view['id']}` shows its timeline; "
            f"continue this conversation with --session {session})"
        )
    else:
        print(outcome_text(view, waiting))
        if view["status"] in ACTIVE:
            print(
                f"still {view['status']} after {args.timeout:g} s: `switchboard logs {view['id']}` shows how far it got"
            )
    return exit_code(view["status"])


def runs(client: Client, args: argparse.Namespace) -> int:
    found = client.get("/v1/runs", {"status": args.status, "bot": args.bot, "limit": args.limit})["runs"]
    if args.json:
        print(dumps(found))
    elif not found:
        print("no runs")
    else:
        rows = [[r["id"], r["bot"], r["status"], str(r["step"]), when(r["created_at"])] for r in found]
        print(table(["ID", "BOT", "STATUS", "STEP", "CREATED"], rows, colour_column=2))
    return 0


def status(client: Client, args: argparse.Namespace) -> int:
    view, waiting = outcome(client, client.get(path("runs", args.run_id)))
    print(dumps(outcome_json(view, waiting)) if args.json else outcome_text(view, waiting))
    return 0


def logs(client: Client, args: argparse.Namespace) -> int:
    events = events_of(client, args.run_id)
    print(dumps(events) if args.json else timeline_text(events))
    return 0


def cancel(client: Client, args: argparse.Namespace) -> int:
    view = client.post(path("runs", args.run_id, "cancel"))
    print(dumps(view) if args.json else run_text(view))
    return 0


def resume(client: Client, args: argparse.Namespace) -> int:
    client.post(path("runs", args.run_id, "resume"))
    view = follow(client, args.run_id, args.timeout)
    print(dumps(view) if args.json else run_text(view))
    return exit_code(view["status"])
