"""`switchboard`: a client of a running Switchboard service, and the service's own processes.

Client commands talk to the service's REST API (URL and key from --url/--key, SWITCHBOARD_URL/
SWITCHBOARD_API_KEY, or `switchboard login`): run, runs, status, logs, cancel, resume, approvals,
approve, deny, answer, reconcile, audit, alerts, schedules, knowledge; `--local` (or `--db URL`) runs one of
them against a database in this process instead. Local by nature: serve, worker, scheduler,
discord, migrate, keys. And login, logout, doctor.

Exit codes: 0 done, 1 the run failed or was cancelled (or the service failed), 2 misuse (bad
arguments, unknown ids, refused credentials or decisions), 3 the run waits for a decision,
4 timed out, 5 the service or its database is unavailable, 130 interrupted.

Start-up time matters here: this module and the client import only the standard library (and
core.lifecycle); each command's module is imported when it runs (handlers are named by
"module:function"), so `--help` and a client command never load SQLAlchemy, Starlette or the
model SDK.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from service.cli import alerts, knowledge, schedules
from service.cli.decisions import RECONCILE_CHOICES, count, instant

_EPILOG = """\
the service: `switchboard serve` (http://127.0.0.1:8000 by default); point the CLI at another
one with --url / SWITCHBOARD_URL and a key with --key / SWITCHBOARD_API_KEY, or save both with
`switchboard login`. `switchboard doctor` checks the model endpoint, the service and the database.
exit codes: 0 done, 1 failed, 2 misuse, 3 waiting for a decision, 4 timed out, 5 unavailable."""


def _connection_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    group = flags.add_argument_group("where the service is")
    group.add_argument("--url", help="the service's URL (SWITCHBOARD_URL; default http://127.0.0.1:8000)")
    group.add_argument("--key", help="your API key (SWITCHBOARD_API_KEY, or `switchboard login`)")
    group.add_argument(
        "--local", action="store_true", help="no service: run the command in this process on a local database"
    )
    group.add_argument(
        "--db",
        metavar="URL",
        help="run locally on this database (implies --local; else SWITCHBOARD_DATABASE_URL)",
    )
    return flags


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description="Durable, governed chat-ops agent runtime.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    client = _connection_flags()
    _run_commands(sub, client)
    _decision_commands(sub, client)
    alerts.add_commands(sub, client)
    schedules.add_commands(sub, client)
    knowledge.add_commands(sub, client)
    _service_commands(sub)
    return parser


def _service_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="start the HTTP service with an in-process worker")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--model", default=None, help="the model every bot uses (SWITCHBOARD_MODEL__NAME)")
    serve.set_defaults(handler=None)
    worker = sub.add_parser(
        "worker", help="run step workers and a sweeper without HTTP (Celery with a broker)"
    )
    worker.add_argument("celery_args", nargs=argparse.REMAINDER, help="Celery worker options, after --")
    worker.set_defaults(handler=None)
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", metavar="URL", help="the database (default: SWITCHBOARD_DATABASE_URL)")
    migrate = sub.add_parser("migrate", help="bring the database to the newest schema", parents=[db])
    migrate.set_defaults(handler="service.cli.local:migrate", local_only=True)
    keys = sub.add_parser("keys", help="create a tenant user with an API key (on the database)", parents=[db])
    keys.add_argument("--tenant", required=True, help="tenant id (created if missing)")
    keys.add_argument("--user", required=True, help="user name")
    keys.add_argument("--admin", action="store_true")
    keys.set_defaults(handler="service.cli.local:create_key", local_only=True)
    discord = sub.add_parser("discord", help="run the Discord gateway client (and its outbox) without HTTP")
    discord.set_defaults(handler="service.cli.discord_gateway:discord_gateway", local_only=True)

    login = sub.add_parser("login", help="save the service's URL and your API key for the CLI (mode 0600)")
    login.add_argument("--url", help="the service's URL (default http://127.0.0.1:8000)")
    login.add_argument("--key", help="your API key; without it, read from stdin or asked for")
    login.set_defaults(handler="service.cli.account:login", plain=True)
    logout = sub.add_parser("logout", help="forget the saved URL and API key")
    logout.set_defaults(handler="service.cli.account:logout", plain=True)
    doctor = sub.add_parser(
        "doctor", help="check the model endpoint, the service and the database, and say what to fix"
    )
    doctor.add_argument("--url", help="the service to check (as for the client commands)")
    doctor.add_argument("--key", help="the API key to check")
    doctor.add_argument("--model", help="check this model name instead of the configured one")
    doctor.add_argument("--timeout", type=float, default=10.0, help="seconds per check")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(handler="service.cli.doctor:doctor", plain=True)


def _run_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], client: argparse.ArgumentParser
) -> None:
    run = sub.add_parser("run", help="send a message to a bot and wait for the answer", parents=[client])
    run.add_argument("bot")
    run.add_argument("message")
    run.add_argument("--session", help="a thread key: continue that conversation")
    run.add_argument("--timeout", type=float, default=120.0, help="seconds to follow the run (then exit 4)")
    run.add_argument(
        "--json", action="store_true", help="print the run, what it waits for and its events as JSON"
    )
    run.set_defaults(handler="service.cli.commands:run")

    runs = sub.add_parser("runs", help="list your recent runs", parents=[client])
    runs.add_argument("--status", help="only runs in this status (e.g. waiting_approval)")
    runs.add_argument("--bot")
    runs.add_argument("--limit", type=count, default=50)
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(handler="service.cli.commands:runs")

    for name, text in (
        ("status", "show a run"),
        ("logs", "show a run's event timeline"),
        ("cancel", "cancel a run"),
        ("resume", "resume a failed run from its last checkpoint"),
    ):
        cmd = sub.add_parser(name, help=text, parents=[client])
        cmd.add_argument("run_id")
        cmd.add_argument("--json", action="store_true")
        if name == "resume":
            cmd.add_argument(
                "--timeout", type=float, default=120.0, help="how long to follow the resumed run"
            )
        cmd.set_defaults(handler=f"service.cli.commands:{name}")


def _decision_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], client: argparse.ArgumentParser
) -> None:
    approvals = sub.add_parser(
        "approvals", help="list the approvals waiting for a decision", parents=[client]
    )
    approvals.add_argument("--all", action="store_true", help="every approval, decided ones too")
    approvals.add_argument("--json", action="store_true")
    approvals.set_defaults(handler="service.cli.decisions:approvals")

    def resuming(name: str, text: str, *ids: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=text, parents=[client])
        for arg in ids:
            cmd.add_argument(arg)
        cmd.add_argument("--timeout", type=float, default=60.0, help="how long to follow the resumed run")
        cmd.add_argument("--json", action="store_true")
        cmd.set_defaults(handler=f"service.cli.decisions:{name}")
        return cmd

    resuming("approve", "approve a tool call; its run continues", "approval_id")
    deny = resuming("deny", "deny a tool call; the agent is told why", "approval_id")
    deny.add_argument("--reason", help="passed to the agent as the tool's result")
    answer = resuming("answer", "answer a question the agent asked", "question_id")
    answer.add_argument("option", nargs="+", help="an option's text or number, or your own words if allowed")
    reconcile = resuming("reconcile", "say what became of a side effect whose outcome is unknown", "run_id")
    reconcile.add_argument("choice", choices=RECONCILE_CHOICES)
    reconcile.add_argument("--note")

    audit = sub.add_parser("audit", help="the tenant's audit log (admins)", parents=[client])
    audit.add_argument("--run")
    audit.add_argument("--user", help="who acted (a user id)")
    audit.add_argument("--tool")
    audit.add_argument("--since", type=instant, help="ISO-8601 or epoch seconds")
    audit.add_argument("--until", type=instant, help="ISO-8601 or epoch seconds (exclusive)")
    audit.add_argument("--limit", type=count, default=200)
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(handler="service.cli.decisions:audit")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        from service.cli.serve import serve

        return serve(args.host, args.port, model=args.model)
    if args.command == "worker":
        from service.cli.worker import worker

        return worker(args.celery_args)
    from service.cli.client import ServiceError
    from service.cli.config import ConfigError
    from service.cli.output import error

    try:
        handler = _load(args.handler)
        if getattr(args, "local_only", False):
            return _run_local(handler, args)
        if getattr(args, "plain", False):
            code: int = handler(args)
            return code
        return _run_client(handler, args)
    except (ServiceError, ConfigError) as exc:
        error(str(getattr(exc, "message", exc)))
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        return 130


def _load(name: str) -> Any:
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def _run_client(handler: Any, args: argparse.Namespace) -> int:
    from service.cli.client import Client
    from service.cli.config import Connection, local_key, resolve

    if args.local or args.db:
        from service.cli.local import embedded

        with embedded(args.db) as url:
            key, source = local_key(args.key)
            code: int = handler(Client(Connection(url, key, source)), args)
            return code
    code = handler(Client(resolve(args.url, args.key)), args)
    return code


def _run_local(handler: Any, args: argparse.Namespace) -> int:
    import asyncio

    from core.errors import MisuseError, StoreUnavailable, SwitchboardError
    from service.cli.output import error

    try:
        code: int = asyncio.run(handler(args))
        return code
    except StoreUnavailable as exc:
        error(exc.message)
        return 5
    except MisuseError as exc:
        error(exc.message)
        return 2
    except SwitchboardError as exc:
        error(f"{exc.code}: {exc.message}")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
