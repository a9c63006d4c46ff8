"""The anomaly demo: an hour of checkout latency with one spike at its end, and a check that
watches it every minute, so the demo raises exactly one alert (which stays open for people to
acknowledge, investigate or silence).

The series is written into `demo_metrics` in the context store's database, which the SQL source
reads through its own read-only connection, like any deployment's metrics database.
"""

from __future__ import annotations

import random
from typing import Any

from core.schedule_records import Schedule
from core.store.context import ContextStore
from scheduler.anomaly.detectors import Point
from scheduler.anomaly.handler import KIND
from scheduler.anomaly.sources import DEMO_QUERY

METRIC = "checkout_latency_ms"
STEP_S = 60.0
NORMAL_POINTS = 60
SPIKE = (840.0, 910.0, 880.0)
CHECK_PARAMS: dict[str, Any] = {
    "title": "Checkout latency",
    "metric": METRIC,
    "source": {"type": "sql", "query": DEMO_QUERY, "args": {"metric": METRIC}},
    "detector": {"type": "zscore", "window": 30, "threshold": 4, "min_samples": 10},
    "open_after": 2,
    "resolve_after": 3,
    "lookback": 200,
}


def demo_series(end: float, seed: int = 8) -> list[Point]:
    """Calm latency around 120 ms (uniform noise, seeded), then the spike; the last point at `end`."""
    rng = random.Random(seed)
    values = [120.0 + rng.uniform(-8.0, 8.0) for _ in range(NORMAL_POINTS)] + list(SPIKE)
    first = end - STEP_S * (len(values) - 1)
    return [Point(first + i * STEP_S, round(v, 1)) for i, v in enumerate(values)]


async def seed_demo_metrics(store: ContextStore, tenant_id: str, end: float) -> int:
    """Write the demo series once per tenant; returns how many points were written."""
    points = [(p.ts, p.value) for p in demo_series(end)]
    return await store.demo_metrics.seed(tenant_id, METRIC, points)


def demo_check(tenant_id: str, owner_id: str, bot: str, target: dict[str, Any]) -> Schedule:
    """The anomaly schedule of the demo tenant (not yet stored: the schedule store adds ids)."""
    return Schedule(
        id="",
        tenant_id=tenant_id,
        owner_id=owner_id,
        bot=bot,
        kind=KIND,
        cron=None,
        interval_s=60,
        timezone="UTC",
        target=target,
        prompt="Watch checkout latency",
        params=CHECK_PARAMS,
        name="Checkout latency",
    )


async def ensure_demo_check(
    store: ContextStore, tenant_id: str, owner_id: str, *, bot: str, target: dict[str, Any], now: float
) -> Schedule:
    """Seed the series and store the check, once: a second call finds what the first made."""
    await seed_demo_metrics(store, tenant_id, now)
    for schedule in await store.schedules.find(tenant_id):
        if schedule.kind == KIND and schedule.params.get("metric") == METRIC:
            return schedule
    return await store.schedules.create(demo_check(tenant_id, owner_id, bot, target), actor_user_id=owner_id)
