"""A small cluster for fault tests: real `switchboard worker` processes on Celery (real Redis, real
PostgreSQL), a producer queue in the test, and helpers to watch runs and kill processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.lifecycle import ACTIVE, RunStatus
from core.queue.celery_queue import CeleryQueue
from core.records import RunEvent
from core.settings import Settings
from core.store.context import ContextStore
from core.store.runs import NewRun
from service import scale
from tests.conftest import TenantFixture

REPO = Path(__file__).resolve().parents[2]
BOTS = '["tests.fakes.ledger_bot:bot", "benchmarks.bench_bot:bot"]'
ENDED = frozenset(RunStatus) - ACTIVE - {RunStatus.WAITING_APPROVAL}


def worker_env(
    database_url: str, redis_url: str, model_url: str, ledger: Path, **overrides: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    env |= {
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_BROKER_URL": redis_url,
        "SWITCHBOARD_BOTS": BOTS,
        "OPENAI_BASE_URL": model_url,
        "SWITCHBOARD_ENGINE__LEASE_S": "1.5",
        "SWITCHBOARD_ENGINE__SWEEP_INTERVAL_S": "0.2",
        "SWITCHBOARD_MODEL__MAX_RETRIES": "0",
        "SWITCHBOARD_QUEUE__CONCURRENCY": "8",
        "LEDGER_PATH": str(ledger),
        "PYTHONPATH": str(REPO),
    }
    return env | overrides


class CeleryWorker:
    def __init__(self, env: dict[str, str], log: Path, *celery_args: str) -> None:
        self.log = log
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli.main", "worker", "--", *celery_args],
            env=env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "switchboard.worker worker" in self.text():  # the service is up in this worker
                return
            if not self.alive():
                raise AssertionError(f"worker exited early:\n{self.text()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"worker not ready within {timeout}s:\n{self.text()[-3000:]}")

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for child in self.children():
            with _gone():
                os.kill(child, signal.SIGKILL)
        self._log.close()


class _gone:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return exc_type is ProcessLookupError


@dataclass
class Cluster:
    store: ContextStore
    database_url: str
    redis_url: str
    model_url: str
    tmp: Path
    workers: list[CeleryWorker] = field(default_factory=list)
    queue: CeleryQueue | None = None

    @property
    def ledger(self) -> Path:
        return self.tmp / "ledger.jsonl"

    def env(self, **overrides: str) -> dict[str, str]:
        return worker_env(self.database_url, self.redis_url, self.model_url, self.ledger, **overrides)

    def spawn(self, name: str, *celery_args: str, **env: str) -> CeleryWorker:
        """A worker process, started; `env` overrides settings (SWITCHBOARD_…)."""
        started = CeleryWorker(self.env(**env), self.tmp / f"{name}.log", *celery_args)
        self.workers.append(started)
        return started

    def worker(self, name: str, *celery_args: str, **env: str) -> CeleryWorker:
        """A worker process, once its service is up."""
        started = self.spawn(name, *celery_args, **env)
        started.wait_ready()
        return started

    async def producer(self, copies: int = 1) -> CeleryQueue:
        settings = Settings(broker_url=self.redis_url)
        settings.queue.duplicate_deliveries = copies
        queue = scale.task_queue(settings, _no_steps)
        assert isinstance(queue, CeleryQueue)
        await queue.start()
        self.queue = queue
        return queue

    async def wait_all(self, tenant_id: str, run_ids: Iterable[str], timeout: float) -> dict[str, RunStatus]:
        """Until every run has ended (or the timeout): their statuses."""
        ids = list(run_ids)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            statuses = {i: (await self.store.runs.get(tenant_id, i)).status for i in ids}
            if all(s in ENDED for s in statuses.values()) or asyncio.get_running_loop().time() > deadline:
                return statuses
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        for w in self.workers:
            w.stop()
        if self.queue is not None:
            await self.queue.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {w.log.name}\n{w.text()[-3000:]}" for w in self.workers)


async def _no_steps(run_id: str, enqueue: object) -> None:
    raise AssertionError("the test's producer queue never runs steps")


def check_history(events: list[RunEvent]) -> None:
    """No half-written or repeated step: contiguous sequence numbers, each step's model answer and
    each tool call's success recorded once."""
    assert [e.seq for e in events] == list(range(1, len(events) + 1)), [e.seq for e in events]
    answered = Counter(e.payload["step"] for e in events if e.type == "ModelResponded")
    assert set(answered.values()) <= {1}, answered
    succeeded = Counter(e.payload["key"] for e in events if e.type == "ToolCallSucceeded")
    assert set(succeeded.values()) <= {1}, succeeded


async def ledger_run(c: Cluster, t: TenantFixture, thread: str = "t") -> str:
    submitted = await c.store.runs.submit(NewRun(t.id, t.member.user_id, "api", thread, "ledger", "go"))
    assert submitted.run is not None
    assert c.queue is not None
    await c.queue.enqueue(submitted.run.id)
    return submitted.run.id


async def bench_runs(c: Cluster, t: TenantFixture, n: int, user_id: str | None = None) -> list[str]:
    """`n` runs of the bench bot (model → lookup → model), each in its own thread, nudged."""
    assert c.queue is not None
    ids = []
    for i in range(n):
        new = NewRun(t.id, user_id or t.member.user_id, "api", f"b{i}", "bench", f"order {i}")
        submitted = await c.store.runs.submit(new)
        assert submitted.run is not None
        await c.queue.enqueue(submitted.run.id)
        ids.append(submitted.run.id)
    return ids
