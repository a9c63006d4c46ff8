"""`switchboard schedules …` (create, list, show, pause, resume, delete) through the REST API,
and `switchboard scheduler` (the firing loop as its own local process, for when `serve` does not
embed it or for availability; service/cli/local.py)."""

from __future__ import annotations

import argparse
from typing import Any

from service.cli.client import Client, path
from service.cli.output import dumps, table

MISFIRES = ("skip", "run_late")  # core.schedule_records.Misfire


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], *parents: argparse.ArgumentParser
) -> None:
    scheduler = sub.add_parser(
        "scheduler", help="fire schedules, locally (several may run; each fire happens once)"
    )
    scheduler.set_defaults(handler="service.cli.local:run_scheduler", local_only=True)

    schedules = sub.add_parser("schedules", help="manage schedules (digests posted on a timetable)")
    verbs = schedules.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="create a schedule", parents=parents)
    create.add_argument("--bot", required=True)
    create.add_argument("--prompt", required=True, help="what the bot does at each fire")
    when = create.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", help='five fields, e.g. "0 9 * * mon-fri"')
    when.add_argument("--every-minutes", type=int)
    create.add_argument("--timezone", default="UTC", help="IANA name, e.g. Europe/Berlin")
    create.add_argument("--surface", default="slack")
    where = create.add_mutually_exclusive_group(required=True)
    where.add_argument("--channel", help="post at the channel's top level (a channel id)")
    where.add_argument("--user", help="post in a direct message to this user (the surface's user id)")
    where.add_argument("--conversation", help="post into this stored conversation (Teams: its key)")
    create.add_argument("--thread", help="reply in this thread of --channel instead")
    create.add_argument("--name", default="")
    create.add_argument("--misfire", choices=MISFIRES, default="skip")
    create.add_argument("--grace-s", type=int, default=300, help="how late a missed fire may run (run_late)")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler="service.cli.schedules:create_schedule")

    listing = verbs.add_parser(
        "list", help="list your schedules (an admin sees the tenant's)", parents=parents
    )
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler="service.cli.schedules:list_schedules")
    for verb, text in (
        ("show", "show a schedule"),
        ("pause", "pause a schedule"),
        ("resume", "resume a paused schedule from now on"),
        ("delete", "delete a schedule"),
    ):
        cmd = verbs.add_parser(verb, help=text, parents=parents)
        cmd.add_argument("schedule_id")
        cmd.add_argument("--json", action="store_true")
        cmd.set_defaults(handler="service.cli.schedules:change_schedule")


def create_schedule(client: Client, args: argparse.Namespace) -> int:
    target = {
        "surface": args.surface,
        "channel": args.channel,
        "thread": args.thread,
        "user": args.user,
        "conversation": args.conversation,
    }
    body = {
        "bot": args.bot,
        "prompt": args.prompt,
        "cron": args.cron,
        "interval_s": args.every_minutes * 60 if args.every_minutes is not None else None,
        "timezone": args.timezone,
        "target": {k: v for k, v in target.items() if v is not None},
        "name": args.name,
        "misfire": args.misfire,
        "grace_s": args.grace_s,
    }
    _show(client.post("/v1/schedules", {k: v for k, v in body.items() if v is not None}), args.json)
    return 0


def list_schedules(client: Client, args: argparse.Namespace) -> int:
    found = client.get("/v1/schedules")["schedules"]
    if args.json:
        print(dumps(found))
    elif not found:
        print("no schedules")
    else:
        rows = [
            [s["id"], s["name"], f"{s['bot']}/{s['kind']}", _when(s), _where(s), _state(s)] for s in found
        ]
        print(table(["ID", "NAME", "BOT", "WHEN", "TARGET", "STATE"], rows))
    return 0


def change_schedule(client: Client, args: argparse.Namespace) -> int:
    if args.verb == "delete":
        client.delete(path("schedules", args.schedule_id))
        print(
            dumps({"id": args.schedule_id, "deleted": True}) if args.json else f"deleted {args.schedule_id}"
        )
        return 0
    if args.verb == "show":
        schedule = client.get(path("schedules", args.schedule_id))
    else:
        schedule = client.post(path("schedules", args.schedule_id, args.verb))
    _show(schedule, args.json)
    return 0


def _when(s: dict[str, Any]) -> str:
    return (f"cron {s['cron']!r}" if s["cron"] else f"every {s['interval_s']} s") + f" {s['timezone']}"


def _where(s: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in s["target"].items() if v)


def _state(s: dict[str, Any]) -> str:
    reason = s["disabled_reason"] if s["disabled_reason"] not in (None, "paused") else None
    return "enabled" if s["enabled"] else f"disabled: {reason}" if reason else "paused"


def line(s: dict[str, Any]) -> str:
    return f"{s['id']}  {s['name']!r}  {s['bot']}/{s['kind']}  {_when(s)}  → {_where(s)}  [{_state(s)}]"


def _show(s: dict[str, Any], as_json: bool) -> None:
    print(dumps(s) if as_json else line(s))
