"""`switchboard alerts …` as a person types it, on SQLite with the default bots and the offline demo
model: list, ack, silence (refused for a member, bounded for anyone) and investigate, which runs
the ops bot and waits for its answer. Another tenant's key sees none of it."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from core.store.context import ContextStore
from service.cli.main import main
from service.demo import ADMIN_KEY, DEMO_TENANT
from tests.channels.api.alerts import raise_alert

Result = tuple[int, str, str]  # exit code, stdout, stderr


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


@pytest.fixture
def cli(
    database_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    for name in [k for k in os.environ if k.startswith(("SWITCHBOARD_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", f"sqlite:///{database_file}")
    monkeypatch.chdir(database_file.parent)

    def run(*args: str, key: str | None = None) -> Result:
        if key is None:
            monkeypatch.delenv("SWITCHBOARD_API_KEY", raising=False)  # the demo customer
        else:
            monkeypatch.setenv("SWITCHBOARD_API_KEY", key)
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def open_demo_alert(database_file: Path) -> str:
    async def open_one() -> str:
        store = ContextStore.open(f"sqlite:///{database_file}")
        try:
            return (await raise_alert(store, DEMO_TENANT, "demo-admin", bot="ops")).id
        finally:
            await store.close()

    return asyncio.run(open_one())


def test_alerts_from_the_cli(cli: Callable[..., Result], database_file: Path) -> None:
    assert cli("alerts", "list") == (0, "no live alerts\n", "")  # also seeds the demo tenant
    alert_id = open_demo_alert(database_file)

    code, out, _ = cli("alerts", "list")
    assert code == 0 and out.startswith(f"{alert_id}  Checkout latency: checkout_latency_ms = 910 (zscore)")
    assert out.rstrip().endswith("[open]")
    code, out, _ = cli("alerts", "ack", alert_id)
    assert code == 0 and "[acknowledged: acknowledged by demo-alice]" in out

    code, _, err = cli("alerts", "silence", alert_id)
    assert code == 2 and "Only an admin or the owner of this check can silence its alerts" in err
    code, _, err = cli("alerts", "silence", alert_id, "--for", "10s", key=ADMIN_KEY)
    assert code == 2 and "--for.duration_s: Input should be greater than or equal to 60" in err
    with pytest.raises(SystemExit):
        cli("alerts", "silence", alert_id, "--for", "soon", key=ADMIN_KEY)
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
