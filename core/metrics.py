"""Prometheus metrics. Counters and histograms are recorded where things happen; the gauges that
describe the database (runs by state, outbox backlog) and the queue are read at scrape time.

Each process exposes its own: the service at `/metrics`, a Celery worker on its metrics port.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from core.lifecycle import RunStatus

CONTENT_TYPE = CONTENT_TYPE_LATEST
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

STEP_SECONDS = Histogram(
    "switchboard_step_seconds",
    "Time to advance a run by one step (lease, or the previous step's commit, to commit)",
    ["outcome"],
    buckets=_FAST,
)
MODEL_SECONDS = Histogram(
    "switchboard_model_seconds",
    "Model call latency, retries and fallbacks included",
    ["model"],
    buckets=_FAST,
)
MODEL_TOKENS = Counter("switchboard_model_tokens", "Tokens used by model calls", ["model", "kind"])
MODEL_FAILURES = Counter("switchboard_model_failures", "Failed model attempts", ["model", "reason"])
TOOL_SECONDS = Histogram("switchboard_tool_seconds", "Tool call latency", ["tool"], buckets=_FAST)
TOOL_ERRORS = Counter("switchboard_tool_errors", "Tool calls that failed", ["tool", "code"])
BREAKER_TRANSITIONS = Counter(
    "switchboard_breaker_transitions", "Circuit breaker state changes", ["breaker", "state"]
)
LIMITER_REQUESTS = Counter(
    "switchboard_ratelimit_requests", "Model calls seen by the rate limiter", ["provider", "outcome"]
)
LIMITER_WAIT = Counter(
    "switchboard_ratelimit_wait_seconds", "Time spent waiting for the rate limiter", ["provider"]
)
LIMITER_TOKENS = Counter("switchboard_ratelimit_tokens", "Tokens counted by the rate limiter", ["provider"])
ADMISSIONS = Counter("switchboard_admissions", "Submissions by admission outcome", ["outcome"])
QUEUE_DEPTH = Gauge("switchboard_queue_depth", "Nudges waiting in the task queue")
RUNS = Gauge("switchboard_runs", "Runs by state", ["state"])
OUTBOX_BACKLOG = Gauge("switchboard_outbox_backlog", "Outbound messages not yet delivered")
# A shared loop (scheduler, outbox, sweeper) serves every tenant: an item it cannot handle is
# set aside (disabled, parked, skipped) and counted here, and the loop goes on with the others.
LOOP_ITEM_FAILURES = Counter(
    "switchboard_loop_item_failures",
    "Items a shared loop failed on and set aside, by loop and what was done with the item",
    ["loop", "action"],
)
LOOP_ROUND_FAILURES = Counter(
    "switchboard_loop_round_failures", "Rounds of a shared loop that failed as a whole", ["loop"]
)


class _BreakerStates(Collector):
    """0 closed, 1 half-open, 2 open; read from the live breakers at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from core.resilience.breaker import every_breaker  # the breakers import this module

        family = GaugeMetricFamily(
            "switchboard_breaker_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open",
            labels=["breaker"],
        )
        for breaker in every_breaker():
            family.add_metric([breaker.name], int(breaker.state))
        yield family


REGISTRY.register(_BreakerStates())


def breaker_changed(name: str, state: object) -> None:
    BREAKER_TRANSITIONS.labels(name, getattr(state, "name", str(state)).lower()).inc()


@dataclass(frozen=True)
class Sources:
    """What a scrape reads besides this process's own counters."""

    runs_by_status: Callable[[], Awaitable[Mapping[str, int]]]
    outbox_backlog: Callable[[], Awaitable[int]]
    queue_depth: Callable[[], int]


async def scrape(sources: Sources | None = None) -> bytes:
    if sources is not None:
        await _refresh(sources)
    return generate_latest(REGISTRY)


async def _refresh(sources: Sources) -> None:
    counts = await sources.runs_by_status()
    for state in RunStatus:
        RUNS.labels(state.value).set(counts.get(state.value, 0))
    OUTBOX_BACKLOG.set(await sources.outbox_backlog())
    QUEUE_DEPTH.set(sources.queue_depth())
