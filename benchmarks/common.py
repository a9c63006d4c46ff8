"""Shared wiring for benchmarks: a fresh store, the support bot, the scripted model over HTTP."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bots.support import bot as support_bot
from core.bots import BotRegistry
from core.model.gateway import OpenAIGateway
from core.model.port import DeltaSink, ModelClient, ModelReply, ModelRequest
from core.records import Principal, Role
from core.settings import ModelSettings
from core.store.context import ContextStore
from core.store.migrate import migrate

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class TimedModel:
    """Wraps the model port and remembers how long each call took (wall and this process's CPU),
    to subtract it from a step."""

    inner: ModelClient
    durations: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    async def complete(self, request: ModelRequest, on_delta: DeltaSink | None = None) -> ModelReply:
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            return await self.inner.complete(request, on_delta)
        finally:
            self.durations.append(time.perf_counter() - start)
            self.cpu.append(time.process_time() - start_cpu)


@contextmanager
def model_process(script: Path, latency_ms: float = 0.0) -> Iterator[str]:
    """The scripted model in its own process, so its work is not counted as ours."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.scripted_model",
            "--script",
            str(script),
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "scripted model serving … on http://127.0.0.1:PORT/v1"
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        proc.terminate()
        proc.wait(10)


def fresh_database(kind: str, tmp_dir: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_dir}/bench.db"
    name = f"switchboard_bench_{os.getpid()}"  # several benchmarks may run at once
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    """Drop a database `fresh_database` made (a SQLite file goes with its temporary folder)."""
    if url.startswith("postgresql"):
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@asynccontextmanager
async def bench_setup(
    url: str, latency_ms: float = 0.0
) -> AsyncIterator[tuple[ContextStore, BotRegistry, TimedModel, Principal]]:
    store = ContextStore.open(url)
    await migrate(store.db)
    tenant = await store.directory.create_tenant("bench")
    user = await store.directory.create_user(tenant, "bench", Role.MEMBER)
    bots = BotRegistry([support_bot])
    assert support_bot.demo_script is not None
    with model_process(support_bot.demo_script, latency_ms) as base_url:
        gateway = OpenAIGateway(ModelSettings(base_url=base_url, max_retries=0))
        try:
            yield store, bots, TimedModel(gateway), Principal(tenant, user.id, Role.MEMBER)
        finally:
            await gateway.aclose()
            await store.close()
            drop_database(url)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def describe(values_ms: list[float]) -> str:
    return (
        f"median {statistics.median(values_ms):.2f} ms, p99 {percentile(values_ms, 99):.2f} ms, "
        f"n={len(values_ms)}"
    )
