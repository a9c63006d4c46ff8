"""`switchboard`: serve, migrate, worker, run, status, logs, cancel, resume, keys; and the decisions:
approvals, approve, deny, answer, reconcile, audit.

The CLI is a sync edge: each command builds the service from settings and runs one coroutine.
Exit codes: 0 done, 1 the run failed or was cancelled, 2 misuse (bad arguments, unknown ids,
credentials), 3 the run waits for a decision, 4 timed out, 5 the database is unavailable.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from core.errors import MisuseError, StoreUnavailable, SwitchboardError
from core.governance.desk import RECONCILE_CHOICES
from service.cli import alerts, commands, decisions, schedules
from service.cli.discord_gateway import discord_gateway

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard", description="Durable, governed chat-ops agent runtime."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the HTTP service with an in-process worker")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--model", default=None, help="the model every bot uses (SWITCHBOARD_MODEL__NAME)")
    serve.set_defaults(handler=None)

    sub.add_parser("migrate", help="bring the database to the newest schema").set_defaults(
        handler=commands.migrate
    )
    worker = sub.add_parser(
        "worker", help="run step workers and a sweeper without HTTP (Celery with a broker)"
    )
    worker.add_argument("celery_args", nargs=argparse.REMAINDER, help="Celery worker options, after --")
    worker.set_defaults(handler=None)

    run = sub.add_parser("run", help="send a message to a bot and wait for the answer")
    run.add_argument("bot")
    run.add_argument("message")
    run.add_argument("--session", help="a thread key: continue that conversation")
    run.add_argument("--timeout", type=float, default=120.0)
    run.add_argument("--json", action="store_true")
    run.set_defaults(handler=commands.run)

    for name, handler, text in (
        ("status", commands.status, "show a run"),
        ("logs", commands.logs, "show a run's event timeline"),
        ("cancel", commands.cancel, "cancel a run"),
        ("resume", commands.resume, "resume a failed run from its last checkpoint"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("run_id")
        cmd.add_argument("--json", action="store_true")
        cmd.set_defaults(handler=handler)

    keys = sub.add_parser("keys", help="create a tenant user with an API key")
    keys.add_argument("--tenant", required=True, help="tenant id (created if missing)")
    keys.add_argument("--user", required=True, help="user name")
    keys.add_argument("--admin", action="store_true")
    keys.set_defaults(handler=commands.create_key)
    sub.add_parser(
        "discord", help="run the Discord gateway client (and its outbox) without HTTP"
    ).set_defaults(handler=discord_gateway)
    _decision_commands(sub)
    schedules.add_commands(sub)
    alerts.add_commands(sub)
    return parser


def _decision_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    approvals = sub.add_parser("approvals", help="list the approvals waiting for a decision")
    approvals.add_argument("--all", action="store_true", help="every approval, decided ones too")
    approvals.add_argument("--json", action="store_true")
    approvals.set_defaults(handler=decisions.approvals)

    def resuming(name: str, handler: Handler, text: str, *ids: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=text)
        for arg in ids:
            cmd.add_argument(arg)
        cmd.add_argument("--timeout", type=float, default=60.0, help="how long to follow the resumed run")
        cmd.add_argument("--json", action="store_true")
        cmd.set_defaults(handler=handler)
        return cmd

    resuming("approve", decisions.approve, "approve a tool call; its run continues", "approval_id")
    deny = resuming("deny", decisions.deny, "deny a tool call; the agent is told why", "approval_id")
    deny.add_argument("--reason", help="passed to the agent as the tool's result")
    answer = resuming("answer", decisions.answer, "answer a question the agent asked", "question_id")
    answer.add_argument("option", nargs="+", help="an option's text or number, or your own words if allowed")
    reconcile = resuming(
        "reconcile",
        decisions.reconcile,
        "say what became of a side effect whose outcome is unknown",
        "run_id",
    )
    reconcile.add_argument("choice", choices=RECONCILE_CHOICES)
    reconcile.add_argument("--note")

    audit = sub.add_parser("audit", help="the tenant's audit log (admins)")
    audit.add_argument("--run")
    audit.add_argument("--user", help="who acted (a user id)")
    audit.add_argument("--tool")
    audit.add_argument("--since", type=decisions.instant, help="ISO-8601 or epoch seconds")
    audit.add_argument("--until", type=decisions.instant, help="ISO-8601 or epoch seconds (exclusive)")
    audit.add_argument("--limit", type=decisions.count, default=200)
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(handler=decisions.audit)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        from service.cli.serve import serve

        return serve(args.host, args.port, model=args.model)
    if args.command == "worker":
        from service.cli.worker import worker

        return worker(args.celery_args)
    handler: Handler = args.handler
    try:
        return asyncio.run(handler(args))
    except StoreUnavailable as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 5
    except MisuseError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except SwitchboardError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
