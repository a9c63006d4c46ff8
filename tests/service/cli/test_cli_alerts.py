"""`switchboard alerts …` as a person types it, against a running service (SQLite, the offline demo
model and its demo alert): list, ack, silence (refused for a member, bounded for anyone) and
investigate, which runs the ops bot and waits for its answer. Another tenant's key sees none of it."""

from __future__ import annotations

import json
import re

from service.demo import ADMIN_KEY
from tests.service.cli.conftest import Cli


def test_alerts_from_the_cli(cli: Cli) -> None:
    code, out, _ = cli("alerts", "list")  # serve's demo check has opened one
    header, row = out.splitlines()
    assert code == 0 and header.split() == ["ID", "STATUS", "TITLE", "METRIC", "TARGET", "NOTES"]
    alert_id = row.split()[0]
    assert row.split()[1:] == [
        "open",
        "Checkout",
        "latency",
        "checkout_latency_ms",
        "=",
        "910",
        "slack",
        "C0DEMO",
    ]
    code, out, _ = cli("alerts", "ack", alert_id)
    assert code == 0 and "[acknowledged: acknowledged by demo-alice]" in out

    code, _, err = cli("alerts", "silence", alert_id)
    assert code == 2 and "Only an admin or the owner of this check can silence its alerts" in err
    code, _, err = cli("alerts", "silence", alert_id, "--for", "10s", key=ADMIN_KEY)
    assert code == 2 and "duration_s: Input should be greater than or equal to 60" in err
    assert cli("alerts", "silence", alert_id, "--for", "soon", key=ADMIN_KEY)[0] == 2  # argparse refuses it
    code, out, _ = cli("alerts", "silence", alert_id, "--for", "2h", "--json", key=ADMIN_KEY)
    silenced = json.loads(out)
    assert code == 0 and silenced["status"] == "silenced" and silenced["silenced_by"] == "demo-admin"

    code, out, err = cli("alerts", "investigate", alert_id, "--json")
    assert code == 0, err
    started = json.loads(out)
    assert started["session"] == f"alert-{alert_id}" and started["run"]["status"] == "completed"
    assert started["run"]["bot"] == "ops" and started["alert"]["investigation_run_id"] == started["run"]["id"]
    assert started["run"]["answer"].startswith("**Investigating Checkout latency**")  # the ops demo rule
    code, _, err = cli("alerts", "investigate", alert_id)
    assert code == 2 and "already under way" in err
    listed = json.loads(cli("alerts", "list", "--status", "silenced", "--json")[1])
    assert [a["investigation_run_id"] for a in listed] == [started["run"]["id"]]

    code, out, _ = cli("keys", "--tenant", "globex", "--user", "ops")
    found = re.search(r"API key: (\S+)", out)
    assert code == 0 and found is not None
    stranger = found.group(1)
    assert cli("alerts", "list", "--all", key=stranger)[1] == "no alerts\n"
    code, _, err = cli("alerts", "ack", alert_id, key=stranger)
    assert code == 2 and f"no alert {alert_id}" in err
