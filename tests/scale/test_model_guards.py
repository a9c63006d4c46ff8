"""The model gateway behind its guards: an open breaker fails over at once, a lone model waits for
its probe (bounded), and every attempt goes through the rate limiter."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core.errors import ModelUnavailable
from core.model.gateway import Backoff, Guards, OpenAIGateway
from core.model.port import ModelRequest
from core.resilience.breaker import BreakerBoard, BreakerOptions, BreakerState
from core.resilience.ratelimit import LocalBuckets, RateLimiter, RateLimits
from core.scripted_model import Script, ScriptedModelServer
from core.settings import ModelSettings

FAST = Backoff(initial_s=0.01, max_s=0.02)


@pytest.fixture(scope="module")
def running() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(Script()) as server:
        yield server


@pytest.fixture
def server(running: ScriptedModelServer) -> Iterator[ScriptedModelServer]:
    running.reset()
    yield running
    running.reset()


def gateway(
    server: ScriptedModelServer,
    *,
    limiter: RateLimiter | None = None,
    wait_s: float = 5.0,
    open_s: float = 0.3,
) -> tuple[OpenAIGateway, BreakerBoard]:
    board = BreakerBoard(BreakerOptions(failures=2, window_s=10, open_s=open_s))
    guards = Guards(limiter or RateLimiter(RateLimits()), board, breaker_wait_s=wait_s)
    settings = ModelSettings(base_url=server.base_url, max_retries=1)
    return OpenAIGateway(settings, backoff=FAST, guards=guards), board


def ask(*models: str) -> ModelRequest:
    return ModelRequest(models=models, messages=[{"role": "user", "content": "hello"}])


def asked(server: ScriptedModelServer) -> list[str]:
    return [body["model"] for body in server.requests()]


async def test_an_open_breaker_fails_over_to_the_next_model_at_once(server: ScriptedModelServer) -> None:
    server.inject(status=500, count=10, model="primary")
    gw, board = gateway(server)
    try:
        first = await gw.complete(ask("primary", "backup"))
        assert first.model == "backup"
        assert board.get(f"model:primary@{server.base_url}").state is BreakerState.OPEN
        server.traffic.clear()
        second = await gw.complete(ask("primary", "backup"))
    finally:
        await gw.aclose()
    assert second.model == "backup"
    assert asked(server) == ["backup"]  # the primary was not even tried
    assert second.failures == ("primary: circuit open",)


async def test_a_lone_model_waits_for_its_breaker_and_recovers(server: ScriptedModelServer) -> None:
    server.inject(status=500, count=3)
    gw, board = gateway(server)
    started = time.perf_counter()
    try:
        reply = await gw.complete(ask("only"))
    finally:
        await gw.aclose()
    # two failures open it; the first probe fails (0.3 s), the second succeeds (0.3 s later)
    assert time.perf_counter() - started >= 0.55
    assert reply.content is not None
    assert board.get(f"model:only@{server.base_url}").state is BreakerState.CLOSED


async def test_the_wait_for_a_breaker_is_bounded(server: ScriptedModelServer) -> None:
    server.inject(status=503, count=100)
    gw, _ = gateway(server, wait_s=0.5, open_s=0.2)
    started = time.perf_counter()
    try:
        with pytest.raises(ModelUnavailable, match="circuit open"):
            await gw.complete(ask("only"))
    finally:
        await gw.aclose()
    assert time.perf_counter() - started < 2.0


async def test_a_rejected_request_does_not_count_against_the_breaker(server: ScriptedModelServer) -> None:
    server.inject(status=400, count=5)
    gw, board = gateway(server)
    try:
        for _ in range(3):
            with pytest.raises(Exception, match="rejected"):
                await gw.complete(ask("only"))
    finally:
        await gw.aclose()
    assert board.get(f"model:only@{server.base_url}").state is BreakerState.CLOSED


async def test_every_attempt_takes_a_share_of_the_rate_limit(server: ScriptedModelServer) -> None:
    buckets = LocalBuckets()
    limiter = RateLimiter(
        RateLimits(requests_per_minute=120, tokens_per_minute=600_000, max_wait_s=5), buckets
    )
    gw, _ = gateway(server, limiter=limiter)
    try:
        for _ in range(120):  # the whole minute's requests
            await limiter.acquire(server.base_url, 1)
        started = time.perf_counter()
        await gw.complete(ask("only"))  # waits half a second for the next request
    finally:
        await gw.aclose()
    assert time.perf_counter() - started >= 0.4
