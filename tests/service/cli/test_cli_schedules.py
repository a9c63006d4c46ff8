"""`switchboard schedules …` as a person types it, against a running service with two tenants
(keys made by `switchboard keys` on its database)."""

from __future__ import annotations

import json
import re

from tests.service.cli.conftest import Cli


def test_schedules_from_the_cli_are_tenant_isolated(cli: Cli) -> None:
    def key_for(tenant: str) -> str:
        code, out, err = cli("keys", "--tenant", tenant, "--user", "ops-lead")
        found = re.search(r"API key: (\S+)", out)
        assert code == 0 and found is not None, err
        return found.group(1)

    acme, globex = key_for("acme"), key_for("globex")
    code, out, err = cli(
        "schedules", "create", "--bot", "ops", "--channel", "C0OPS", "--cron", "0 9 * * mon-fri",
        "--timezone", "Europe/Berlin", "--prompt", "Post the ops digest", "--json", key=acme,
    )  # fmt: skip
    assert code == 0, err
    schedule = json.loads(out)
    sid = schedule["id"]
    assert schedule["target"]["channel"] == "C0OPS" and schedule["timezone"] == "Europe/Berlin"

    listed = cli("schedules", "list", key=acme)[1]
    assert sid in listed and "'0 9 * * mon-fri'" in listed and listed.rstrip().endswith("enabled")
    assert "[paused]" in cli("schedules", "pause", sid, key=acme)[1]
    assert "[enabled]" in cli("schedules", "resume", sid, key=acme)[1]

    assert cli("schedules", "list", key=globex)[1].strip() == "no schedules"
    code, _, err = cli("schedules", "delete", sid, key=globex)
    assert code == 2 and "no schedule" in err
    code, _, err = cli(
        "schedules",
        "create",
        "--bot",
        "ops",
        "--channel",
        "C1",
        "--cron",
        "0 25 * * *",
        "--prompt",
        "x",
        key=acme,
    )
    assert code == 2 and "not valid" in err

    assert cli("schedules", "delete", sid, key=acme)[0] == 0
    assert cli("schedules", "list", key=acme)[1].strip() == "no schedules"
