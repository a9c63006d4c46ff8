"""What the surfaces' alert-card tests (tests/channels/<surface>/test_alerts.py) share: a store and
engine with the ops bot and the anomaly handler posting through the surface's notice renderer; the
demo check raised, then recovered; and the audit trail the clicks leave."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from core.model.port import Message
from core.notices import NoticeRenderer
from core.outbound import OutboundRenderer
from core.records import AuditQuery
from core.schedule_records import Schedule
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from core.store.schema import demo_metrics
from scheduler.anomaly.demo import METRIC, ensure_demo_check
from scheduler.anomaly.handler import AnomalyHandler, Sources
from scheduler.anomaly.narrator import Narrator
from scheduler.anomaly.sources import Bounds, SqlMetrics
from tests.core.engine.harness import Engine
from tests.fakes.models import FunctionModel, Say
from tests.scheduler.anomaly.conftest import BOTS, at, ops_engine

# Open, a plain member's Silence refused, Acknowledge, Investigate, an admin's Silence.
CLICKED = [
    ("alert.opened", None),
    ("alert.refused", "silence"),
    ("alert.acknowledged", None),
    ("alert.investigated", None),
    ("alert.silenced", None),
]


def model_policy(messages: list[Message]) -> Say:
    system = str(messages[0].get("content", "")) if messages else ""
    return Say("Checkout latency spiked." if "narrate anomaly alerts" in system else "Looking into it.")


@dataclass
class AlertService:
    store: ContextStore
    engine: Engine
    handler: AnomalyHandler

    async def raise_alert(
        self, tenant_id: str, owner_id: str, target: dict[str, Any]
    ) -> tuple[Schedule, float]:
        """The demo latency check, created for `target` and fired now: its metric is over the
        line, so an alert opens. Returns the check and when it fired."""
        now = self.store.clock.now()
        schedule = await ensure_demo_check(self.store, tenant_id, owner_id, bot="ops", target=target, now=now)
        await self.handler.fire(schedule, at(now))
        return schedule, now

    async def recover(self, tenant_id: str, schedule: Schedule, since: float) -> None:
        """Three healthy readings after `since`, then the check fires again: the alert resolves."""
        rows = [
            {"tenant_id": tenant_id, "name": METRIC, "ts": since + 60 * i, "value": 120.0} for i in (1, 2, 3)
        ]
        await self.store.db.run(lambda conn: conn.execute(insert(demo_metrics), rows))
        await self.handler.fire(schedule, at(since + 180))

    async def clicks(self, tenant_id: str) -> list[tuple[str, Any]]:
        """The alert entries of the audit trail, oldest first, with the refused action's name."""
        entries = await self.store.audit.query(tenant_id, AuditQuery())
        return [(e.action, e.detail.get("action")) for e in entries if e.action.startswith("alert.")]


@asynccontextmanager
async def alert_service(
    database_url: str, surface: str, renderer: OutboundRenderer, notices: NoticeRenderer
) -> AsyncIterator[AlertService]:
    store = ContextStore.open(database_url, renderers={surface: renderer})
    model = FunctionModel(model_policy)
    metrics = SqlMetrics(database_url, {}, Bounds())
    alerts = AlertStore(store.db, store.clock, {surface: notices})
    handler = AnomalyHandler(alerts, Sources(metrics), Narrator(model), BOTS)
    try:
        async with ops_engine(store, model) as eng:
            yield AlertService(store, eng, handler)
    finally:
        metrics.close()
        await store.close()
