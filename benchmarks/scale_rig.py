"""The rig for the scale benchmarks: every part in its own process, as deployed.

PostgreSQL (a fresh database), Redis (its own database number, flushed), the scripted model
(`python -m core.scripted_model`, so it does not share the benchmark's GIL), the API
(`switchboard serve`) and N Celery workers (`switchboard worker`). Only 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psycopg
import redis

from core.records import Role
from core.store.context import ContextStore

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
DB_NAME = "switchboard_scale_bench"
SCRIPT = REPO / "benchmarks" / "bench_script.yaml"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class RigOptions:
    workers: int = 2
    concurrency: int = 64  # steps per worker process
    latency_ms: float = 300.0
    redis_db: int = 12
    users: int = 100
    api_port: int = 18400
    model_port: int = 18401
    extra_env: dict[str, str] = field(default_factory=dict)
    worker_nice: int = 0  # on one shared machine: let the API's requests go before the workers' steps
    database_url: str | None = None  # default: a fresh PostgreSQL database


@dataclass
class Rig:
    options: RigOptions
    database_url: str
    api_url: str
    keys: list[str]
    api: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    model: subprocess.Popen[bytes]

    def cpu_s(self, proc: subprocess.Popen[bytes]) -> float:
        return process_cpu_s(proc.pid)

    def workers_cpu_s(self) -> float:
        return sum(process_cpu_s(w.pid) for w in self.workers)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) and its reaped children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICKS


def postgres_cpu_s() -> dict[int, float]:
    """CPU seconds of every PostgreSQL process (the server's backends do the SQL work)."""
    return named_cpu_s("postgres")


def named_cpu_s(name: str) -> dict[int, float]:
    """CPU seconds (user + system) of every process whose command name is `name`."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if f"({name})" in text:
            found[int(stat.parent.name)] = sum(int(f) for f in text.rsplit(")", 1)[1].split()[11:13]) / TICKS
    return found


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} (1/5 min, {os.cpu_count()} cores)"


def fresh_database() -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{DB_NAME}"


def env_for(options: RigOptions, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "OPENAI_"))}
    return env | {
        "PYTHONPATH": str(REPO),
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_BROKER_URL": f"redis://127.0.0.1:6379/{options.redis_db}",
        "SWITCHBOARD_BOTS": '["benchmarks.bench_bot:bot"]',
        "OPENAI_BASE_URL": f"http://127.0.0.1:{options.model_port}/v1",
        "SWITCHBOARD_API__PORT": str(options.api_port),
        "SWITCHBOARD_QUEUE__CONCURRENCY": str(options.concurrency),
        **options.extra_env,
    }


def _spawn(args: list[str], env: dict[str, str], log: Path, nice: int = 0) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
        )


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def _wait_ready(url: str, timeout: float) -> None:
    """Until `url` answers 200: `serve` binds its port before its startup (migrations) is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=max(0.1, deadline - time.monotonic())) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


def _wait_log(log: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{log.name} did not say {text!r} within {timeout}s")


async def _make_keys(database_url: str, users: int) -> list[str]:
    store = ContextStore.open(database_url)
    try:
        tenant = await store.directory.create_tenant("bench")
        keys = []
        for i in range(users):
            user = await store.directory.create_user(tenant, f"user{i}", Role.MEMBER)
            keys.append(await store.directory.create_api_key(tenant, user.id, "bench"))
        return keys
    finally:
        await store.close()


@asynccontextmanager
async def rig(options: RigOptions, logs: Path) -> AsyncIterator[Rig]:
    """The processes up, with a tenant and `options.users` API keys; all stopped on the way out."""
    logs.mkdir(parents=True, exist_ok=True)
    database_url = options.database_url or fresh_database()
    client = redis.Redis(db=options.redis_db)
    client.flushdb()
    client.close()
    env = env_for(options, database_url)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        model_args = ["-m", "core.scripted_model", "--script", str(SCRIPT), "--port", str(options.model_port)]
        model = _spawn([*model_args, "--latency-ms", str(options.latency_ms)], env, logs / "model.log")
        procs.append(model)
        api = _spawn(["-m", "service.cli.main", "serve"], env, logs / "api.log")
        procs.append(api)
        await asyncio.to_thread(_wait_port, options.model_port, 30)
        await asyncio.to_thread(_wait_port, options.api_port, 60)
        await asyncio.to_thread(_wait_ready, f"http://127.0.0.1:{options.api_port}/healthz", 60)
        keys = await _make_keys(database_url, options.users)
        workers = []
        for i in range(options.workers):
            log = logs / f"worker{i}.log"
            workers.append(_spawn(["-m", "service.cli.main", "worker"], env, log, options.worker_nice))
            procs.append(workers[-1])
            await asyncio.to_thread(_wait_log, log, "switchboard.worker worker", 60)
        yield Rig(options, database_url, f"http://127.0.0.1:{options.api_port}", keys, api, workers, model)
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in reversed(procs):
            try:
                await asyncio.to_thread(proc.wait, 20)
            except subprocess.TimeoutExpired:
                proc.kill()


def http_client(connections: int = 100) -> aiohttp.ClientSession:
    # aiohttp, not httpx: the load generator shares the two cores with what it measures, and
    # aiohttp costs it 0.2–0.3 s of CPU per 1,000 runs against httpx's 4.1 s. Idle connections
    # expire here before uvicorn's 5 s keep-alive closes them under our feet.
    connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=2.0)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60.0))


async def submit(
    client: aiohttp.ClientSession, rig: Rig, key: str, text: str
) -> tuple[int, float, dict[str, object]]:
    """POST one run; its status code, the seconds it took, and the body."""
    started = time.perf_counter()
    async with client.post(
        f"{rig.api_url}/v1/runs",
        json={"bot": "bench", "message": text},
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        body = await response.json()
    return response.status, time.perf_counter() - started, body


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")
    )
