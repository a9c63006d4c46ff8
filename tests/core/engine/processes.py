"""Real `switchboard worker` processes for crash tests: started with settings in the environment,
killed with real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def worker_env(
    database_url: str,
    model_url: str,
    ledger: Path,
    *,
    failpoint: str | None = None,
    lease_s: float = 1.5,
    bots: str = '["tests.fakes.ledger_bot:bot"]',
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    env |= {
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_BOTS": bots,
        "OPENAI_BASE_URL": model_url,
        "SWITCHBOARD_ENGINE__LEASE_S": str(lease_s),
        "SWITCHBOARD_ENGINE__SWEEP_INTERVAL_S": "0.2",
        "SWITCHBOARD_MODEL__MAX_RETRIES": "0",
        "LEDGER_PATH": str(ledger),
        "PYTHONPATH": str(REPO),
    }
    if failpoint:
        env["SWITCHBOARD_ENGINE__FAILPOINT"] = failpoint
    return env


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli.main", "worker"],
            env=env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_dead(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
