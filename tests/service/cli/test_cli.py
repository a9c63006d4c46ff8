"""The `switchboard` CLI as a newcomer uses it: real processes, the offline demo model, SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    env["SWITCHBOARD_DATABASE_URL"] = f"sqlite:///{tmp_path}/cli.db"

    def run(*args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
        run_env = env | env_extra
        return subprocess.run(
            [sys.executable, "-m", "service.cli.main", *args],
            env=run_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


def test_run_then_status_and_logs(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("run", "support", "where is order 42?", "--json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["status"] == "completed" and "shipped" in run["answer"]
    assert [e["type"] for e in run["events"]][-1] == "RunCompleted"

    status = cli("status", run["id"])
    assert status.returncode == 0 and "completed" in status.stdout
    logs = cli("logs", run["id"])
    assert logs.returncode == 0
    assert "ToolCallSucceeded      lookup_order" in logs.stdout and "RunCompleted" in logs.stdout
    follow = cli("run", "support", "hello", "--session", run["session"], "--json")
    assert json.loads(follow.stdout)["session_id"] == run["session_id"]


def test_errors_have_clear_messages_and_exit_codes(cli) -> None:  # type: ignore[no-untyped-def]
    unknown_bot = cli("run", "nobody", "hi")
    assert unknown_bot.returncode == 2 and "no bot named 'nobody'" in unknown_bot.stderr
    unknown_run = cli("status", "run_doesnotexist")
    assert unknown_run.returncode == 2 and "no run" in unknown_run.stderr
    done = json.loads(cli("run", "support", "hi", "--json").stdout)
    again = cli("cancel", done["id"])
    assert again.returncode == 2 and "already completed" in again.stderr
    resume = cli("resume", done["id"])
    assert resume.returncode == 2 and "cannot be resumed" in resume.stderr


def test_dead_database_is_exit_code_5(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("status", "run_x", SWITCHBOARD_DATABASE_URL="postgresql://postgres@127.0.0.1:1/nothing")
    assert result.returncode == 5 and "unavailable" in result.stderr


def test_keys_create_a_user_the_cli_can_act_as(cli) -> None:  # type: ignore[no-untyped-def]
    made = cli("keys", "--tenant", "acme", "--user", "ops", "--admin")
    assert made.returncode == 0 and "API key: sb_" in made.stdout
    key = made.stdout.split("API key: ")[1].split()[0]
    run = json.loads(cli("run", "support", "hi", "--json", SWITCHBOARD_API_KEY=key).stdout)
    assert run["status"] == "completed" and run["user_id"] != "demo-alice"
    wrong = cli("run", "support", "hi", SWITCHBOARD_API_KEY="sb_wrong")
    assert wrong.returncode == 2 and "unknown or revoked API key" in wrong.stderr
