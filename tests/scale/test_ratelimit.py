"""The model rate limiter, one suite for both backends: in-process and Redis."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from core.resilience.ratelimit import (
    Buckets,
    LocalBuckets,
    RateLimited,
    RateLimiter,
    RateLimits,
    RedisBuckets,
)


@pytest.fixture(params=["local", "redis"])
async def buckets(request: pytest.FixtureRequest) -> AsyncIterator[Buckets]:
    if request.param == "local":
        yield LocalBuckets()
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisBuckets(client, prefix="test:rate")
    await client.aclose()


async def test_takes_while_there_is_room_then_says_how_long_to_wait(buckets: Buckets) -> None:
    requests = [("requests", 120.0, 1.0)]  # 120 a minute: a unit every half second
    for _ in range(120):
        assert await buckets.take("p", requests) == 0
    wait = await buckets.take("p", requests)
    # At most one refill interval; less by however long the 120 takes themselves took (the bucket
    # refills meanwhile, and against Redis on a loaded machine that can be a tenth of a second).
    assert 0 < wait <= 0.5


async def test_both_buckets_or_neither(buckets: Buckets) -> None:
    assert await buckets.take("p", [("requests", 60.0, 1.0), ("tokens", 600.0, 600.0)]) == 0
    assert await buckets.take("p", [("requests", 60.0, 1.0), ("tokens", 600.0, 500.0)]) > 0
    # the refused call took no request: 59 are left, not 58
    for _ in range(59):
        assert await buckets.take("p", [("requests", 60.0, 1.0)]) == 0
    assert await buckets.take("p", [("requests", 60.0, 1.0)]) > 0


async def test_providers_are_separate(buckets: Buckets) -> None:
    assert await buckets.take("a", [("requests", 60.0, 60.0)]) == 0
    assert await buckets.take("a", [("requests", 60.0, 1.0)]) > 0
    assert await buckets.take("b", [("requests", 60.0, 1.0)]) == 0


async def test_usage_beyond_the_estimate_is_a_debt(buckets: Buckets) -> None:
    assert await buckets.take("p", [("tokens", 6000.0, 100.0)]) == 0
    await buckets.charge("p", "tokens", 6000.0, 6000.0)  # the reply was far longer than estimated
    wait = await buckets.take("p", [("tokens", 6000.0, 100.0)])
    assert 1.9 < wait <= 2.1  # 200 tokens short at 100 a second


async def test_acquire_waits_for_room(buckets: Buckets) -> None:
    limiter = RateLimiter(RateLimits(tokens_per_minute=6000, max_wait_s=5), buckets)
    assert await limiter.acquire("p", 6000) == 0  # the whole minute's allowance
    started = time.perf_counter()
    waited = await limiter.acquire("p", 10)  # 0.1 s at 100 tokens a second
    assert 0.09 <= time.perf_counter() - started < 1.0
    assert waited > 0


async def test_acquire_refuses_a_wait_longer_than_allowed(buckets: Buckets) -> None:
    limiter = RateLimiter(RateLimits(requests_per_minute=1, max_wait_s=0.5), buckets)
    await limiter.acquire("p", 1)
    with pytest.raises(RateLimited):
        await limiter.acquire("p", 1)


async def test_no_limits_no_calls() -> None:
    class Exploding(LocalBuckets):
        async def take(self, provider: str, costs: list[tuple[str, float, float]]) -> float:
            raise AssertionError("an unlimited limiter must not touch its buckets")

    assert await RateLimiter(RateLimits(), Exploding()).acquire("p", 10**6) == 0


async def test_workers_share_one_redis_bucket(aredis: Redis) -> None:
    first = RateLimiter(RateLimits(requests_per_minute=2, max_wait_s=0.1), RedisBuckets(aredis, "test:rate"))
    second = RateLimiter(RateLimits(requests_per_minute=2, max_wait_s=0.1), RedisBuckets(aredis, "test:rate"))
    await first.acquire("p", 1)
    await second.acquire("p", 1)
    with pytest.raises(RateLimited):
        await first.acquire("p", 1)


async def test_an_unreachable_redis_lets_calls_through() -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        limiter = RateLimiter(RateLimits(requests_per_minute=1), RedisBuckets(client))
        for _ in range(3):
            assert await limiter.acquire("p", 1) == 0
    finally:
        await client.aclose()
