"""The `switchboard` CLI as a newcomer uses it: real processes against a running service (the
offline demo model, SQLite), the explicit local mode, the config file `login` writes, the
errors a person meets, and what the client may not import."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli.config import DEMO_KEY
from service.demo import CUSTOMER_KEY
from tests.channels.web.server import REPO, ServiceProcess, free_port
from tests.service.cli.conftest import Cli, client_env

HEAVY = (
    "starlette",
    "sqlalchemy",
    "openai",
    "celery",
    "slack_sdk",
    "slack_bolt",
    "discord",
    "botbuilder",
    "httpx",
)


def switchboard(
    env: dict[str, str], cwd: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli.main", *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_then_status_and_logs_in_real_processes(served: ServiceProcess, tmp_path: Path) -> None:
    env = client_env(served, tmp_path)
    done = switchboard(env, tmp_path, "run", "support", "where is order 42?", "--json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["status"] == "completed" and "shipped" in run["answer"]
    assert [e["type"] for e in run["events"]][-1] == "RunCompleted"

    status = switchboard(env, tmp_path, "status", run["id"])
    assert status.returncode == 0 and "completed" in status.stdout
    logs = switchboard(env, tmp_path, "logs", run["id"])
    assert logs.returncode == 0
    assert "ToolCallSucceeded      lookup_order" in logs.stdout and "RunCompleted" in logs.stdout
    assert "\x1b[" not in logs.stdout  # no colour off a terminal
    follow = switchboard(env, tmp_path, "run", "support", "hello", "--session", run["session"], "--json")
    assert json.loads(follow.stdout)["session_id"] == run["session_id"]
    assert not (tmp_path / "switchboard.db-journal").exists() and not list(tmp_path.glob("*/switchboard.db"))


def test_errors_have_clear_messages_and_exit_codes(cli: Cli) -> None:
    code, _, err = cli("run", "nobody", "hi")
    assert code == 2 and "no bot named 'nobody'" in err
    code, _, err = cli("status", "run_doesnotexist")
    assert code == 2 and "no run" in err and "Traceback" not in err
    done = json.loads(cli("run", "support", "hi", "--json")[1])
    code, _, err = cli("cancel", done["id"])
    assert code == 2 and "already completed" in err
    code, _, err = cli("resume", done["id"])
    assert code == 2 and "cannot be resumed" in err
    code, _, err = cli("status", done["id"], key="sb_wrong")
    assert (
        code == 2
        and "unknown or revoked API key" in err
        and "the key in SWITCHBOARD_API_KEY was refused" in err
    )


def test_an_unreachable_service_is_exit_code_5_with_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    env |= {"XDG_CONFIG_HOME": str(tmp_path), "SWITCHBOARD_URL": f"http://127.0.0.1:{free_port()}"}
    result = switchboard(env, tmp_path, "run", "support", "hi")
    assert result.returncode == 5 and "Traceback" not in result.stderr
    assert "cannot reach the Switchboard service at http://127.0.0.1:" in result.stderr
    assert "switchboard serve" in result.stderr and "--url" in result.stderr
    assert not (tmp_path / "switchboard.db").exists()  # a client never makes a database


def test_login_saves_the_url_and_key_for_later_commands(served: ServiceProcess, tmp_path: Path) -> None:
    env = client_env(served, tmp_path)
    del env["SWITCHBOARD_URL"]
    key = served.create_key("acme", "ann")
    refused = switchboard(env, tmp_path, "login", "--url", served.url, "--key", "sb_wrong")
    assert refused.returncode == 2 and "unknown or revoked API key" in refused.stderr
    config = tmp_path / "config" / "switchboard" / "config.json"
    assert not config.exists()

    done = switchboard(env, tmp_path, "login", "--url", served.url, stdin=key + "\n")  # the key on stdin
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"url": served.url.rstrip("/"), "api_key": key}
    run = json.loads(switchboard(env, tmp_path, "run", "support", "hi", "--json").stdout)
    assert run["status"] == "completed" and run["user_id"] != "demo-alice"  # acme's ann, from the file
    flagged = switchboard(env, tmp_path, "status", run["id"], "--key", CUSTOMER_KEY)
    assert flagged.returncode == 2 and "no run" in flagged.stderr  # the flag wins over the file
    assert switchboard(env, tmp_path, "logout").returncode == 0 and not config.exists()


def test_local_mode_is_explicit_and_a_dead_database_is_exit_code_5(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "config"), "SWITCHBOARD_URL": f"http://127.0.0.1:{free_port()}"}
    db = f"sqlite:///{tmp_path}/local.db"
    done = switchboard(env, tmp_path, "run", "support", "where is order 42?", "--db", db, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "completed" and (tmp_path / "local.db").exists()
    dead = switchboard(env, tmp_path, "status", "run_x", "--db", "postgresql://postgres@127.0.0.1:1/nothing")
    assert dead.returncode == 5 and "unavailable" in dead.stderr and "Traceback" not in dead.stderr


def test_keys_create_a_user_the_cli_can_act_as(cli: Cli) -> None:
    code, out, _ = cli("keys", "--tenant", "acme", "--user", "ops", "--admin")
    assert code == 0 and "API key: sb_" in out
    key = out.split("API key: ")[1].split()[0]
    run = json.loads(cli("run", "support", "hi", "--json", key=key)[1])
    assert run["status"] == "completed" and run["user_id"] != "demo-alice"


def test_lists_are_tables_and_json_is_the_apis(cli: Cli) -> None:
    done = json.loads(cli("run", "support", "hi", "--json")[1])
    code, out, _ = cli("runs")
    header, row = out.splitlines()[:2]
    assert code == 0 and header.split() == ["ID", "BOT", "STATUS", "STEP", "CREATED"]
    assert row.split()[:3] == [done["id"], "support", "completed"]
    [listed] = json.loads(cli("runs", "--json")[1])
    assert listed["id"] == done["id"] and listed["links"]["self"].endswith(done["id"])


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["run", "--help"], ["status", "run_x", "--url", "http://127.0.0.1:9"]],
    ids=["help", "run-help", "client-command"],
)
def test_the_client_imports_no_server_stack(argv: list[str], tmp_path: Path) -> None:
    probe = (
        "import sys\nfrom service.cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


def test_the_demo_key_default_is_the_demos() -> None:
    assert DEMO_KEY == CUSTOMER_KEY
