"""The model rate limiter: requests and tokens per minute per provider, shared by every worker.

Two token buckets per provider (requests, tokens), each holding up to a minute's allowance and
refilling continuously. A call takes one request and its estimated tokens from both buckets at
once, or takes nothing and learns how long to wait; after the reply the estimate is corrected
with the real usage (a bucket may go negative: the next callers wait for the debt).

Backends: in Redis (one Lua script, so the check and the take are atomic across workers and
machines, timed by Redis's own clock) or in-process when no Redis is configured. If Redis is
unreachable the limiter lets calls through rather than stopping every run.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimits:
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_wait_s: float = 60.0

    @property
    def unlimited(self) -> bool:
        return self.requests_per_minute is None and self.tokens_per_minute is None


class RateLimited(Exception):
    """The wait for capacity would exceed `max_wait_s`."""


class Buckets(Protocol):
    async def take(self, provider: str, costs: list[tuple[str, float, float]]) -> float:
        """Take every (bucket, capacity, cost) or none; 0 when taken, else seconds to wait."""
        ...

    async def charge(self, provider: str, bucket: str, capacity: float, cost: float) -> None:
        """Take `cost` unconditionally (negative gives back)."""
        ...

    async def aclose(self) -> None: ...


class RateLimiter:
    def __init__(self, limits: RateLimits, buckets: Buckets | None = None) -> None:
        self._limits = limits
        self._buckets = buckets or LocalBuckets()

    async def acquire(self, provider: str, tokens: int) -> float:
        """Wait until the provider has room for one request of about `tokens` tokens; returns
        the seconds waited. Raises `RateLimited` when the wait would be longer than allowed."""
        if self._limits.unlimited:
            return 0.0
        costs = self._costs(tokens)
        waited = 0.0
        while True:
            wait = await self._take(provider, costs)
            if wait <= 0:
                metrics.LIMITER_REQUESTS.labels(provider, "delayed" if waited else "granted").inc()
                return waited
            if waited + wait > self._limits.max_wait_s:
                metrics.LIMITER_REQUESTS.labels(provider, "refused").inc()
                raise RateLimited(f"{provider}: no capacity within {self._limits.max_wait_s:g}s")
            wait = wait * (1 + 0.1 * random.random())  # callers woken together do not collide again
            metrics.LIMITER_WAIT.labels(provider).inc(wait)
            await asyncio.sleep(wait)
            waited += wait

    async def settle(self, provider: str, estimated: int, actual: int) -> None:
        """Correct a call's token estimate with its real usage."""
        tpm = self._limits.tokens_per_minute
        metrics.LIMITER_TOKENS.labels(provider).inc(actual)
        if tpm is None or actual == estimated:
            return
        try:
            await self._buckets.charge(provider, "tokens", float(tpm), float(actual - estimated))
        except RedisError as exc:
            log.warning("rate limiter unavailable: %s", exc)

    async def aclose(self) -> None:
        await self._buckets.aclose()

    def _costs(self, tokens: int) -> list[tuple[str, float, float]]:
        costs: list[tuple[str, float, float]] = []
        if self._limits.requests_per_minute is not None:
            costs.append(("requests", float(self._limits.requests_per_minute), 1.0))
        if self._limits.tokens_per_minute is not None:
            tpm = float(self._limits.tokens_per_minute)
            costs.append(("tokens", tpm, min(float(tokens), tpm)))  # a huge call still fits an empty bucket
        return costs

    async def _take(self, provider: str, costs: list[tuple[str, float, float]]) -> float:
        try:
            return await self._buckets.take(provider, costs)
        except RedisError as exc:
            log.warning("rate limiter unavailable, letting the call through: %s", exc)
            return 0.0


class LocalBuckets:
    """In one process; time from the monotonic clock."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._state: dict[tuple[str, str], tuple[float, float]] = {}  # -> (level, at)

    async def take(self, provider: str, costs: list[tuple[str, float, float]]) -> float:
        now = self._clock()
        levels = {name: self._level(provider, name, capacity, now) for name, capacity, _ in costs}
        wait = max(((cost - levels[name]) * 60.0 / capacity for name, capacity, cost in costs), default=0.0)
        if wait > 0:
            return wait
        for name, _, cost in costs:
            self._state[(provider, name)] = (levels[name] - cost, now)
        return 0.0

    async def charge(self, provider: str, bucket: str, capacity: float, cost: float) -> None:
        now = self._clock()
        self._state[(provider, bucket)] = (
            min(capacity, self._level(provider, bucket, capacity, now) - cost),
            now,
        )

    async def aclose(self) -> None:
        pass

    def _level(self, provider: str, bucket: str, capacity: float, now: float) -> float:
        level, at = self._state.get((provider, bucket), (capacity, now))
        return min(capacity, level + (now - at) * capacity / 60.0)


# KEYS: one hash per bucket. ARGV: mode ("take" or "charge"), then capacity and cost per bucket.
# Returns the seconds to wait as a string (Redis would truncate a Lua number to an integer).
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local levels = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i])
  local cost = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'level', 'at')
  local level = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  level = math.min(capacity, level + math.max(0, now - at) * capacity / 60)
  levels[i] = level
  if ARGV[1] == 'take' and level < cost then
    wait = math.max(wait, (cost - level) * 60 / capacity)
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i])
  local cost = tonumber(ARGV[2 * i + 1])
  redis.call('HSET', key, 'level', tostring(math.min(capacity, levels[i] - cost)), 'at', tostring(now))
  redis.call('EXPIRE', key, 120)
end
return '0'
"""


class RedisBuckets:
    """Shared by every process that talks to the same Redis database."""

    def __init__(self, redis: Redis, prefix: str = "sb:rate") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_SCRIPT)

    async def take(self, provider: str, costs: list[tuple[str, float, float]]) -> float:
        return await self._run("take", provider, costs)

    async def charge(self, provider: str, bucket: str, capacity: float, cost: float) -> None:
        await self._run("charge", provider, [(bucket, capacity, cost)])

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def _run(self, mode: str, provider: str, costs: list[tuple[str, float, float]]) -> float:
        keys = [f"{self._prefix}:{provider}:{name}" for name, _, _ in costs]
        args: list[str] = [mode]
        for _, capacity, cost in costs:
            args += [repr(capacity), repr(cost)]
        result = await self._script(keys=keys, args=args)
        return float(result)
