"""`switchboard doctor` against real endpoints: the scripted OpenAI-compatible model (with a rule
that answers the doctor's tool-calling probe), a running service and its database; then a closed
port, a wrong model name, a model that does not call tools, a dead database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from core.scripted_model import Rule, Script, ScriptedModelServer, ToolCallTemplate, When
from service.cli.doctor import PROBE_TOOL
from tests.channels.web.server import REPO, ServiceProcess, free_port
from tests.service.cli.conftest import client_env

PROBE = Rule(
    When(user=re.compile("connectivity test")), tool_calls=(ToolCallTemplate(PROBE_TOOL),), name="probe"
)
TOOL_MODEL = Script(rules=(PROBE,), models=("tiny-tools",))


def doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli.main", "doctor", "--timeout", "5", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def lines(output: str) -> dict[str, str]:
    """check name -> its whole line."""
    found = {}
    for line in output.splitlines():
        mark, _, rest = line.partition("  ")
        name = re.split(r"\s{2,}", rest.strip(), maxsplit=1)[0]
        found[name] = f"{mark.strip()} {rest.strip()}"
    return found


def bare_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    return env | {"XDG_CONFIG_HOME": str(tmp_path / "config"), "NO_COLOR": "1"}


def test_everything_in_order(served: ServiceProcess, tmp_path: Path) -> None:
    with ScriptedModelServer(TOOL_MODEL) as model:
        env = client_env(served, tmp_path) | {
            "OPENAI_BASE_URL": model.base_url,
            "SWITCHBOARD_MODEL__NAME": "tiny-tools",
        }
        done = doctor(env)
        assert done.returncode == 0, done.stdout + done.stderr
        checks = lines(done.stdout)
        assert list(checks) == [
            "model endpoint",
            "model name",
            "tool calling (tiny-tools)",
            "streaming (tiny-tools)",
            "service",
            "API key",
            "database",
        ], done.stdout
        assert all(line.startswith("ok ") for line in checks.values()), done.stdout
        assert "'tiny-tools' is served (bots: support, ops)" in checks["model name"]
        as_json = json.loads(doctor(env, "--json").stdout)
        assert [c["ok"] for c in as_json] == [True] * 7


def test_what_is_wrong_and_how_to_fix_it(tmp_path: Path) -> None:
    with ScriptedModelServer(Script(models=("tiny-tools",))) as model:  # no rule: it never calls tools
        env = bare_env(tmp_path) | {
            "OPENAI_BASE_URL": model.base_url,
            "SWITCHBOARD_MODEL__NAME": "gpt-5-large",
            "SWITCHBOARD_MODEL__BOTS": '{"ops": "tiny-tools"}',
            "SWITCHBOARD_URL": f"http://127.0.0.1:{free_port()}",
            "SWITCHBOARD_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing",
        }
        done, base = doctor(env), model.base_url
    assert done.returncode == 1 and "Traceback" not in done.stderr
    out = done.stdout
    assert f"{base} does not serve 'gpt-5-large' (bots: support); it offers: tiny-tools." in out
    assert "Set SWITCHBOARD_MODEL__NAME" in out
    assert "'tiny-tools' is served (bots: ops)" in out
    checks = lines(out)
    assert checks["tool calling (tiny-tools)"].startswith("FAIL") and "pick a model with tool support" in out
    assert checks["streaming (tiny-tools)"].startswith("ok")
    assert (
        checks["service"].startswith("FAIL") and "cannot reach the Switchboard service" in checks["service"]
    )
    assert checks["database"].startswith("FAIL") and "check SWITCHBOARD_DATABASE_URL" in checks["database"]


def test_a_closed_model_port_and_a_missing_v1(tmp_path: Path) -> None:
    env = bare_env(tmp_path) | {
        "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "SWITCHBOARD_MODEL__NAME": "tiny-tools",
        "SWITCHBOARD_DATABASE_URL": f"sqlite:///{tmp_path}/none.db",
    }
    done = doctor(env)
    assert done.returncode == 1
    first = done.stdout.splitlines()[0]
    assert first.startswith("FAIL  model endpoint") and "cannot connect to http://127.0.0.1:" in first
    assert "is the model server running" in first
    assert "tool calling" not in done.stdout  # nothing more to ask of a model that is not there
    assert "does not exist yet" in done.stdout and not (tmp_path / "none.db").exists()

    with ScriptedModelServer(TOOL_MODEL) as model:
        root = model.base_url.removesuffix("/v1")
        done = doctor(env | {"OPENAI_BASE_URL": root})
    assert done.returncode == 1 and f"usually want the /v1 suffix ({root}/v1)" in done.stdout
