"""`switchboard alerts …`: list the tenant's alerts; acknowledge, silence or investigate one.

Like the REST API, the commands act through the core's AlertDesk (who may do what, audited) on
the service's alert store, so a card posted for the alert is edited to match. An investigation
is a run of the alert's bot in the CLI session `alert-<alert id>`; `switchboard run <bot> …
--session alert-<alert id>` continues it.
"""

from __future__ import annotations

import argparse
import re
import time

from channels.api.body import validate
from channels.api.routes_alerts import (
    AlertsQuery,
    SilenceBody,
    alert_view,
    find_alerts,
    investigation_session,
)
from core.alerts.desk import AlertDesk
from core.alerts.lifecycle import Alert, AlertStatus
from service.cli.commands import exit_code, outcome_json, outcome_text, principal, service, waiting_for
from service.cli.render import dumps
from service.composition import Service

SURFACE = "cli"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def duration(text: str) -> float:
    """An argparse type: seconds, or a number with s, m, h or d (`90s`, `30m`, `1h`, `2d`)."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 30m, 1h or 3600")
    return float(found.group(1)) * _UNIT_S[found.group(2)]


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    alerts = sub.add_parser("alerts", help="alerts raised by anomaly checks: list, ack, silence, investigate")
    verbs = alerts.add_subparsers(dest="verb", required=True)
    listing = verbs.add_parser("list", help="the tenant's live alerts, newest first")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--status", choices=[s.value for s in AlertStatus], help="only alerts in this status")
    which.add_argument("--all", action="store_true", help="resolved ones too")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_alerts)

    ack = verbs.add_parser("ack", help="acknowledge an alert: you are on it")
    silence = verbs.add_parser(
        "silence", help="silence an alert and its check's next incidents (admin or owner)"
    )
    silence.add_argument(
        "--for", dest="duration", type=duration, default=None, help="e.g. 30m, 1h (default 1h)"
    )
    for cmd in (ack, silence):
        cmd.add_argument("alert_id")
        cmd.add_argument("--json", action="store_true")
        cmd.set_defaults(handler=change_alert)

    investigate = verbs.add_parser("investigate", help="start the alert's bot on it and wait for its answer")
    investigate.add_argument("alert_id")
    investigate.add_argument("--timeout", type=float, default=120.0, help="how long to wait for the run")
    investigate.add_argument("--json", action="store_true")
    investigate.set_defaults(handler=investigate_alert)


def desk(svc: Service) -> AlertDesk:
    return svc.alert_desk()


async def list_alerts(args: argparse.Namespace) -> int:
    query = AlertsQuery(status="all" if args.all else args.status or "live", limit=200)
    async with service() as svc:
        found = await find_alerts(desk(svc), await principal(svc), query)
    if args.json:
        print(dumps([alert_view(a).model_dump(mode="json") for a in found]))
    elif not found:
        print("no alerts" if args.all or args.status else "no live alerts")
    for a in [] if args.json else found:
        print(alert_line(a))
    return 0


async def change_alert(args: argparse.Namespace) -> int:
    async with service() as svc:
        who = await principal(svc)
        if args.verb == "ack":
            alert = await desk(svc).acknowledge(who, args.alert_id)
        else:
            given = {} if args.duration is None else {"duration_s": args.duration}
            body = validate(SilenceBody, given, where="--for")
            alert = await desk(svc).silence(who, args.alert_id, body.duration_s)
    print(dumps(alert_view(alert).model_dump(mode="json")) if args.json else alert_line(alert))
    return 0


async def investigate_alert(args: argparse.Namespace) -> int:
    session = investigation_session(args.alert_id)
    async with service(start=True) as svc:
        who = await principal(svc)
        alert = await desk(svc).investigate(who, args.alert_id, surface=SURFACE, thread_key=session)
        assert alert.investigation_run_id is not None  # the desk records the run it started
        run = await svc.runtime.wait(who, alert.investigation_run_id, args.timeout)
        waiting = await waiting_for(svc.store, run)
    if args.json:
        view = alert_view(alert).model_dump(mode="json")
        print(dumps({"alert": view, "run": outcome_json(run, waiting), "session": session}))
    else:
        print(f"investigating {alert.id}: {alert.title}\n{outcome_text(run, waiting)}")
        print(f'\n(continue with: switchboard run {alert.bot} "…" --session {session})')
    return exit_code(run.status)


def alert_line(a: Alert) -> str:
    where = " ".join(str(v) for k, v in a.target.items() if v and k != "thread")
    notes = [f"acknowledged by {a.acked_by}"] if a.acked_by else []
    if a.status is AlertStatus.SILENCED and a.silenced_until is not None:
        until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(a.silenced_until))
        notes.append(f"silenced by {a.silenced_by} until {until}")
    if a.investigation_run_id:
        notes.append(f"investigation {a.investigation_run_id}")
    state = a.status.value + (f": {', '.join(notes)}" if notes else "")
    return f"{a.id}  {a.title}: {a.metric} = {a.value:g} ({a.detector})  → {where}  [{state}]"
