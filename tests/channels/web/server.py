"""The service under test: `switchboard serve` in a subprocess on a free loopback port, with a
fresh SQLite database and no model configured, so the offline demo model and demo keys are used."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[3]
BOTS = '["bots.support:bot", "bots.ops:bot", "tests.fakes.echo_bot:bot"]'
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(database_url: str) -> dict[str, str]:
    """The test's own settings and nothing from the developer's shell that could point the
    service at a real model or another database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    env.update(SWITCHBOARD_DATABASE_URL=database_url, SWITCHBOARD_BOTS=BOTS, PYTHONUNBUFFERED="1")
    return env


class ServiceProcess:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = workdir / "serve.log"
        self._env = clean_env(f"sqlite:///{workdir / 'switchboard.db'}")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "service.cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                command, cwd=REPO, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"switchboard serve exited with {self._proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"switchboard serve did not answer within {START_TIMEOUT_S}s:\n{self.log()}")

    def kill(self) -> None:
        """A crash: no graceful shutdown, open streams cut."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=10)
        self._proc = None

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._proc = None

    def create_key(self, tenant: str, user: str) -> str:
        """A member's API key, made by `switchboard keys` on the service's database."""
        command = [sys.executable, "-m", "service.cli.main", "keys", "--tenant", tenant, "--user", user]
        done = subprocess.run(
            command, cwd=REPO, env=self._env, capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout.split("API key: ", 1)[1].split()[0]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
