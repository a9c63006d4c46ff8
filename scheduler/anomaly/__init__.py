"""Anomaly checks: schedules of kind "anomaly" that read a metric, judge it deterministically and
open or resolve alerts. Surface-neutral: alerts reach people as notices (core/notices.py), drawn
by whichever surface the schedule targets; nothing here imports a channel.

    spec.py        the check as a schedule declares it (schedule.params), validated
    sources.py     SQL (named, read-only, bounded) and HTTP JSON metric sources
    detectors.py   threshold, rolling z-score, EWMA band
    hysteresis.py  one incident, one alert: open after N anomalous points, resolve after M normal
    evaluation.py  a series and the check's saved state → new state and incidents (pure)
    narrator.py    the model's words for an alert, with a plain fallback
    handler.py     AnomalyHandler: the FireHandler for kind "anomaly"
    digest.py      the "alerts" context for digests
    demo.py        the demo's metric series and check
"""

from __future__ import annotations

from core.bots import BotRegistry
from core.model.port import ModelClient
from core.notices import NoticeRenderers
from core.settings import AnomalySettings
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from scheduler.anomaly.handler import KIND, AnomalyHandler, Sources
from scheduler.anomaly.narrator import Narrator
from scheduler.anomaly.sources import Bounds, SqlMetrics

__all__ = ["KIND", "AnomalyHandler", "anomaly_handler"]


def anomaly_handler(
    store: ContextStore,
    model: ModelClient,
    bots: BotRegistry,
    settings: AnomalySettings,
    *,
    database_url: str,
    notices: NoticeRenderers,
) -> AnomalyHandler:
    """The handler the scheduler calls for kind "anomaly". Its SQL sources read through their own
    read-only engine on `settings.metrics_database_url` (default: the context store's database,
    where the demo's metrics live); call `close()` on shutdown."""
    bounds = Bounds(settings.max_rows, settings.timeout_s, settings.max_response_bytes)
    metrics = SqlMetrics(settings.metrics_database_url or database_url, settings.queries, bounds)
    sources = Sources(metrics, tuple(settings.http_allowed_prefixes), bounds)
    alerts = AlertStore(store.db, store.clock, notices)
    return AnomalyHandler(alerts, sources, Narrator(model, settings.narration_timeout_s), bots)
