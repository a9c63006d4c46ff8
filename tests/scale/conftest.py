"""Fixtures for the scale tests: a Redis database of their own (flushed, and only it)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from core.scripted_model import Script, ScriptedModelServer
from core.store.context import ContextStore
from tests.scale.cluster import Cluster

REDIS_DB = int(os.environ.get("SWITCHBOARD_TEST_REDIS_DB", "13"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_url() -> str:
    if not _redis_available():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI and is not reachable at {REDIS_URL}")
        pytest.skip("Redis is not reachable")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()
    return REDIS_URL


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


FAKES = Path(__file__).resolve().parents[1] / "fakes"
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_script.yaml"


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    """Serves both the ledger bot and the bench bot."""
    ledger, bench = Script.from_yaml(FAKES / "ledger_script.yaml"), Script.from_yaml(BENCH)
    with ScriptedModelServer(Script(rules=ledger.rules + bench.rules, default="say go")) as server:
        yield server


@pytest.fixture
async def cluster(
    store: ContextStore, database_url: str, redis_url: str, model: ScriptedModelServer, tmp_path: Path
) -> AsyncIterator[Cluster]:
    model.reset()
    c = Cluster(store, database_url, redis_url, model.base_url, tmp_path)
    try:
        yield c
    finally:
        await c.close()
        model.reset()
