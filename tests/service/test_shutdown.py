"""Shutdown and start-up with real processes: Ctrl-C during a model call gives the run's lease
back, so another worker finishes the run at once rather than after the lease; a second `serve`
on a taken port fails at once, before it says "listening" or does any start-up work."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.scripted_model import ScriptedModelServer
from tests.channels.web.server import REPO, clean_env, free_port
from tests.core.engine.processes import wait_until

LEASE_S = 30.0  # the default: a stalled run would wait this long
MODEL_LATENCY_MS = 2500.0


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "service.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def _key(env: dict[str, str]) -> str:
    command = [sys.executable, "-m", "service.cli.main", "keys", "--tenant", "acme", "--user", "ann"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split("API key: ", 1)[1].split()[0]


def _lease_expires_at(db: Path, run_id: str) -> float:
    with sqlite3.connect(db) as conn:
        (expires,) = conn.execute("SELECT lease_expires_at FROM runs WHERE id = ?", (run_id,)).fetchone()
    return float(expires or 0.0)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


@pytest.mark.timeout(120)
def test_ctrl_c_mid_model_call_gives_the_lease_back_and_a_taken_port_fails_first(tmp_path: Path) -> None:
    db = tmp_path / "switchboard.db"
    with ScriptedModelServer(latency_ms=MODEL_LATENCY_MS) as model:
        env = clean_env(f"sqlite:///{db}") | {
            "OPENAI_BASE_URL": model.base_url,
            "SWITCHBOARD_MODEL__MAX_RETRIES": "0",
            "SWITCHBOARD_ENGINE__SWEEP_INTERVAL_S": "0.3",
        }
        key = _key(env)
        port = free_port()
        first = _serve(env, port, tmp_path / "first.log")
        try:
            base = f"http://127.0.0.1:{port}"
            assert wait_until(lambda: _healthy(base), 30), (tmp_path / "first.log").read_text()

            # A second serve on the same port: refused at once, before any start-up work.
            second_db = tmp_path / "second.db"
            began = time.monotonic()
            second = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "service.cli.main",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                cwd=REPO,
                env=env | {"SWITCHBOARD_DATABASE_URL": f"sqlite:///{second_db}"},
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert second.returncode == 1, second
            assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in second.stderr
            assert "listening" not in second.stderr + second.stdout and "Traceback" not in second.stderr
            assert not second_db.exists()  # no migrations, no demo tenant: nothing started
            assert time.monotonic() - began < 10

            # A run whose first model call takes a while (the CLI gives up following it: exit 4);
            # Ctrl-C while the model is thinking.
            client = env | {
                "SWITCHBOARD_URL": base,
                "SWITCHBOARD_API_KEY": key,
                "XDG_CONFIG_HOME": str(tmp_path),
            }
            submitted = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "service.cli.main",
                    "run",
                    "support",
                    "hello",
                    "--timeout",
                    "0.5",
                    "--json",
                ],
                cwd=REPO,
                env=client,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert submitted.returncode == 4, submitted.stderr
            run = json.loads(submitted.stdout)
            assert run["status"] in ("queued", "running")
            assert wait_until(lambda: len(model.traffic.bodies()) >= 1, 15)
            first.send_signal(signal.SIGINT)
            assert first.wait(15) in (0, -signal.SIGINT)  # uvicorn re-raises the signal it caught
            stopped = time.time()
            log = (tmp_path / "first.log").read_text()
            assert "gave the lease back mid-step" in log, log
            assert _lease_expires_at(db, run["id"]) < stopped  # lapsed now, not in 30 s
        finally:
            _stop(first)

        # Another worker takes the run up at once and completes it.
        worker = subprocess.Popen(
            [sys.executable, "-m", "service.cli.main", "worker"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            restarted = time.monotonic()
            assert wait_until(lambda: _status(db, run["id"]) == "completed", LEASE_S / 2, 0.2)
            assert time.monotonic() - restarted < LEASE_S / 2
        finally:
            worker.terminate()
            worker.wait(15)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _status(db: Path, run_id: str) -> str:
    with sqlite3.connect(db) as conn:
        (status,) = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
    return str(status)
