"""The scale-out part of the composition root: which queue, which limits, which guards.

With `broker_url` set the queue is Celery on Redis, and the model rate limiter lives in Redis
too (shared by every worker); without it, everything stays in the process.
"""

from __future__ import annotations

import os

from redis.asyncio import Redis

from channels.api.shedding import ShedOptions, Turns
from core import metrics
from core.admission import Admission, Limits
from core.model.gateway import Guards
from core.queue.celery_queue import CeleryQueue, NudgeOptions
from core.queue.inprocess import InProcessQueue
from core.queue.port import StepHandler, TaskQueue
from core.resilience.breaker import BreakerBoard, BreakerOptions
from core.resilience.ratelimit import LocalBuckets, RateLimiter, RateLimits, RedisBuckets
from core.settings import BreakerSettings, Settings
from core.store.context import ContextStore


def redis_url(settings: Settings) -> str | None:
    if settings.resilience.redis_url:
        return settings.resilience.redis_url
    broker = settings.broker_url or ""
    return broker if broker.startswith(("redis://", "rediss://", "unix://")) else None


def breaker_options(section: BreakerSettings) -> BreakerOptions:
    return BreakerOptions(failures=section.failures, window_s=section.window_s, open_s=section.open_s)


def model_guards(settings: Settings) -> Guards:
    rate = settings.resilience.model_rate
    limits = RateLimits(rate.requests_per_minute, rate.tokens_per_minute, rate.max_wait_s)
    url = redis_url(settings)
    buckets = RedisBuckets(Redis.from_url(url)) if url and not limits.unlimited else LocalBuckets()
    section = settings.resilience.model_breaker
    breakers = BreakerBoard(breaker_options(section), on_change=metrics.breaker_changed)
    return Guards(RateLimiter(limits, buckets), breakers, section.max_wait_s)


def admission(settings: Settings, store: ContextStore) -> Admission:
    """Limits at submission, and the same limits at lease time (the step store's gate)."""
    a = settings.admission
    limits = Limits(
        per_user=a.max_active_runs_per_user,
        per_tenant=a.max_active_runs_per_tenant,
        busy_depth=a.busy_queue_depth,
        hard_cap=a.max_queue_depth,
        hold_s=a.hold_s,
        retry_after_s=a.retry_after_s,
    )
    control = Admission(store.admission, limits)
    store.steps.admission = control
    return control


def step_concurrency(settings: Settings) -> int:
    """Steps the in-process worker drives at once: the setting, or 32 per core."""
    return settings.engine.workers or 32 * (os.cpu_count() or 1)


def task_queue(settings: Settings, handler: StepHandler) -> TaskQueue:
    if not settings.broker_url:
        return InProcessQueue(handler, step_concurrency(settings))
    q = settings.queue
    options = NudgeOptions(q.name, q.nudge_ttl_s, q.duplicate_deliveries)
    return CeleryQueue(Redis.from_url(settings.broker_url), handler, options)


def turns(settings: Settings) -> Turns:
    """The API's turns (load shedding), one set per process."""
    shed = settings.api.shedding
    return Turns(ShedOptions(shed.requests, shed.reads, shed.waiting, shed.max_wait_s, shed.retry_after_s))
