"""`switchboard alerts …`: list the tenant's alerts; acknowledge, silence or investigate one,
through the REST API (the service's alert desk decides who may do what, audits it, and edits the
alert's card to match). An investigation is a run of the alert's bot in the session
`alert-<alert id>`; `switchboard run <bot> … --session alert-<alert id>` continues it.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from service.cli.client import Client, path
from service.cli.commands import exit_code, follow, outcome, outcome_json
from service.cli.output import dumps, table
from service.cli.render import outcome_text, when

ALERT_STATUSES = ("open", "acknowledged", "silenced", "resolved")  # core.alerts.lifecycle.AlertStatus
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def duration(text: str) -> float:
    """An argparse type: seconds, or a number with s, m, h or d (`90s`, `30m`, `1h`, `2d`)."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 30m, 1h or 3600")
    return float(found.group(1)) * _UNIT_S[found.group(2)]


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], *parents: argparse.ArgumentParser
) -> None:
    alerts = sub.add_parser("alerts", help="alerts raised by anomaly checks: list, ack, silence, investigate")
    verbs = alerts.add_subparsers(dest="verb", required=True)
    listing = verbs.add_parser("list", help="the tenant's live alerts, newest first", parents=parents)
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--status", choices=ALERT_STATUSES, help="only alerts in this status")
    which.add_argument("--all", action="store_true", help="resolved ones too")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler="service.cli.alerts:list_alerts")

    ack = verbs.add_parser("ack", help="acknowledge an alert: you are on it", parents=parents)
    silence = verbs.add_parser(
        "silence", help="silence an alert and its check's next incidents (admin or owner)", parents=parents
    )
    silence.add_argument(
        "--for", dest="duration", type=duration, default=None, help="e.g. 30m, 1h (default 1h)"
    )
    for cmd in (ack, silence):
        cmd.add_argument("alert_id")
        cmd.add_argument("--json", action="store_true")
        cmd.set_defaults(handler="service.cli.alerts:change_alert")

    investigate = verbs.add_parser(
        "investigate", help="start the alert's bot on it and wait for its answer", parents=parents
    )
    investigate.add_argument("alert_id")
    investigate.add_argument("--timeout", type=float, default=120.0, help="how long to wait for the run")
    investigate.add_argument("--json", action="store_true")
    investigate.set_defaults(handler="service.cli.alerts:investigate_alert")


def list_alerts(client: Client, args: argparse.Namespace) -> int:
    status = "all" if args.all else args.status or "live"
    found = client.get("/v1/alerts", {"status": status, "limit": 200})["alerts"]
    if args.json:
        print(dumps(found))
    elif not found:
        print("no alerts" if args.all or args.status else "no live alerts")
    else:
        rows = [
            [a["id"], a["status"], a["title"], f"{a['metric']} = {a['value']:g}", _where(a), _notes(a)]
            for a in found
        ]
        print(table(["ID", "STATUS", "TITLE", "METRIC", "TARGET", "NOTES"], rows, colour_column=1))
    return 0


def change_alert(client: Client, args: argparse.Namespace) -> int:
    if args.verb == "ack":
        alert = client.post(path("alerts", args.alert_id, "acknowledge"))
    else:
        body = {} if args.duration is None else {"duration_s": args.duration}
        alert = client.post(path("alerts", args.alert_id, "silence"), body)
    print(dumps(alert) if args.json else alert_line(alert))
    return 0


def investigate_alert(client: Client, args: argparse.Namespace) -> int:
    started = client.post(path("alerts", args.alert_id, "investigate"))
    alert, session = started["alert"], started["session"]
    run, waiting = outcome(client, follow(client, started["run"]["id"], args.timeout))
    if args.json:
        print(dumps({"alert": alert, "run": outcome_json(run, waiting), "session": session}))
    else:
        print(f"investigating {alert['id']}: {alert['title']}\n{outcome_text(run, waiting)}")
        print(f'\n(continue with: switchboard run {alert["bot"]} "…" --session {session})')
    return exit_code(run["status"])


def _where(a: dict[str, Any]) -> str:
    return " ".join(str(v) for k, v in a["target"].items() if v and k != "thread")


def _notes(a: dict[str, Any]) -> str:
    notes = [f"acknowledged by {a['acked_by']}"] if a.get("acked_by") else []
    if a["status"] == "silenced" and a.get("silenced_until"):
        notes.append(f"silenced by {a['silenced_by']} until {when(a['silenced_until'])}")
    if a.get("investigation_run_id"):
        notes.append(f"investigation {a['investigation_run_id']}")
    return ", ".join(notes)


def alert_line(a: dict[str, Any]) -> str:
    notes = _notes(a)
    state = a["status"] + (f": {notes}" if notes else "")
    return (
        f"{a['id']}  {a['title']}: {a['metric']} = {a['value']:g} ({a['detector']})  → {_where(a)}  [{state}]"
    )
