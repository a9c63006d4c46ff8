"""`switchboard schedules …` (create, list, show, pause, resume, delete) and `switchboard scheduler`
(the firing loop as its own process, for when `serve` does not embed it or for availability)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from channels.api.routes_schedules import schedule_view
from core.schedule_records import Draft, Misfire, Schedule
from service.cli.commands import principal, service
from service.cli.logs import configure_logging
from service.cli.render import dumps
from service.scheduling import schedule_book


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scheduler = sub.add_parser("scheduler", help="fire schedules (several may run; each fire happens once)")
    scheduler.set_defaults(handler=run_scheduler)

    schedules = sub.add_parser("schedules", help="manage schedules (digests posted on a timetable)")
    verbs = schedules.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", help="create a schedule")
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
    create.add_argument("--misfire", choices=[m.value for m in Misfire], default=Misfire.SKIP.value)
    create.add_argument("--grace-s", type=int, default=300, help="how late a missed fire may run (run_late)")
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=create_schedule)

    listing = verbs.add_parser("list", help="list your schedules (an admin sees the tenant's)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_schedules)
    for verb, text in (
        ("show", "show a schedule"),
        ("pause", "pause a schedule"),
        ("resume", "resume a paused schedule from now on"),
        ("delete", "delete a schedule"),
    ):
        cmd = verbs.add_parser(verb, help=text)
        cmd.add_argument("schedule_id")
        cmd.add_argument("--json", action="store_true")
        cmd.set_defaults(handler=change_schedule)


async def create_schedule(args: argparse.Namespace) -> int:
    draft = Draft(
        bot=args.bot,
        prompt=args.prompt,
        cron=args.cron,
        interval_s=args.every_minutes * 60 if args.every_minutes is not None else None,
        timezone=args.timezone,
        target={
            "surface": args.surface,
            "channel": args.channel,
            "thread": args.thread,
            "user": args.user,
            "conversation": args.conversation,
        },
        name=args.name,
        misfire=Misfire(args.misfire),
        grace_s=args.grace_s,
    )
    async with service() as svc:
        created = await schedule_book(svc.store, svc.runtime.bots).create(await principal(svc), draft)
    _show(created, args.json)
    return 0


async def list_schedules(args: argparse.Namespace) -> int:
    async with service() as svc:
        found = await schedule_book(svc.store, svc.runtime.bots).list(await principal(svc))
    if args.json:
        print(dumps([schedule_view(s).model_dump() for s in found]))
    elif not found:
        print("no schedules")
    for s in [] if args.json else found:
        print(_line(s))
    return 0


async def change_schedule(args: argparse.Namespace) -> int:
    async with service() as svc:
        book, who = schedule_book(svc.store, svc.runtime.bots), await principal(svc)
        if args.verb == "delete":
            await book.delete(who, args.schedule_id)
            print(
                dumps({"id": args.schedule_id, "deleted": True})
                if args.json
                else f"deleted {args.schedule_id}"
            )
            return 0
        change = {"show": book.get, "pause": book.pause, "resume": book.resume}[args.verb]
        schedule = await change(who, args.schedule_id)
    _show(schedule, args.json)
    return 0


async def run_scheduler(_: argparse.Namespace) -> int:
    configure_logging()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with service() as svc:
        await svc.start(sweep=False, schedule=True)
        assert svc.scheduler is not None
        logging.getLogger("switchboard.scheduler").info("scheduler %s started", svc.scheduler.name)
        await stop.wait()
    return 0


def _line(s: Schedule) -> str:
    when = f"cron {s.cron!r}" if s.cron else f"every {s.interval_s} s"
    where = ", ".join(f"{k}={v}" for k, v in s.target.items() if v)
    reason = s.disabled_reason if s.disabled_reason not in (None, "paused") else None
    state = "enabled" if s.enabled else f"disabled: {reason}" if reason else "paused"
    return f"{s.id}  {s.name!r}  {s.bot}/{s.kind}  {when} {s.timezone}  → {where}  [{state}]"


def _show(s: Schedule, as_json: bool) -> None:
    print(dumps(schedule_view(s).model_dump()) if as_json else _line(s))
