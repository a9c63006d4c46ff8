"""The fire handler for schedules of kind "anomaly": read the metric, judge it, and open or
resolve alerts. The scheduler claims each fire once; this handler is also safe to run twice for
one fire (a crash between reading and recording): the check's state advances by
compare-and-set, and an incident is unique per (check, first anomalous point)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from core.bots import BotRegistry
from core.errors import Conflict, InvalidInput
from core.store.alerts import AlertStore, CheckAdvance, NewAlert, Resolve
from scheduler.anomaly.evaluation import Transition, evaluate
from scheduler.anomaly.hysteresis import Change
from scheduler.anomaly.narrator import Facts, Narrator
from scheduler.anomaly.sources import Bounds, HttpJsonSource, MetricSource, SqlMetrics
from scheduler.anomaly.spec import CheckSpec, HttpSourceSpec, SqlSourceSpec
from scheduler.ports import Schedule

log = logging.getLogger(__name__)
KIND = "anomaly"


@dataclass(frozen=True)
class Sources:
    """Builds a check's metric source from its spec, within the deployment's limits."""

    sql: SqlMetrics | None
    http_allowed_prefixes: tuple[str, ...] = ()
    bounds: Bounds = Bounds()

    def build(self, spec: SqlSourceSpec | HttpSourceSpec) -> MetricSource:
        if isinstance(spec, SqlSourceSpec):
            if self.sql is None:
                raise InvalidInput("no metrics database is configured for SQL checks")
            return self.sql.source(spec.query, spec.args)
        if not any(spec.url.startswith(prefix) for prefix in self.http_allowed_prefixes):
            raise InvalidInput(f"{spec.url} is not under an allowed metrics URL prefix")
        return HttpJsonSource(spec.url, spec.path, self.bounds, spec.ts_field, spec.value_field)


class AnomalyHandler:
    def __init__(self, alerts: AlertStore, sources: Sources, narrator: Narrator, bots: BotRegistry) -> None:
        self._alerts = alerts
        self._sources = sources
        self._narrator = narrator
        self._bots = bots

    @property
    def alerts(self) -> AlertStore:
        return self._alerts

    def close(self) -> None:
        if self._sources.sql is not None:
            self._sources.sql.close()

    async def fire(self, schedule: Schedule, fire_at: datetime) -> None:
        spec = CheckSpec.parse(schedule.params)
        source = self._sources.build(spec.source)
        points = await source.fetch(schedule.tenant_id, spec.lookback, fire_at.timestamp())
        check = await self._alerts.check(schedule.tenant_id, schedule.id)
        result = evaluate(spec.detector.build(), spec.hysteresis(), points, check.state)
        changes = [await self._change(schedule, spec, t) for t in result.transitions]
        extra = {"tenant": schedule.tenant_id, "schedule_id": schedule.id}
        try:
            done = await self._alerts.advance(
                schedule.tenant_id, schedule.id, CheckAdvance(check.version, result.state, tuple(changes))
            )
        except Conflict as exc:  # another evaluation of this check recorded first: it stands
            log.info("anomaly check evaluated concurrently; dropping this one: %s", exc.message, extra=extra)
            return
        log.info(
            "anomaly check: %d new points, %d opened, %d resolved",
            result.new_points,
            len(done.opened),
            len(done.resolved),
            extra=extra,
        )

    async def _change(self, schedule: Schedule, spec: CheckSpec, t: Transition) -> NewAlert | Resolve:
        if t.change is Change.RESOLVED:
            return Resolve(f"{spec.metric} is back to normal ({t.point.value:g}; {t.verdict.detail}).")
        facts = Facts(spec.heading, spec.metric, t.point.value, t.point.ts, t.verdict.detail)
        narration = await self._narrator.narrate(
            facts, tenant_id=schedule.tenant_id, models=self._bots.get(schedule.bot).models
        )
        return NewAlert(
            incident_ts=t.point.ts,
            owner_id=schedule.owner_id,
            bot=schedule.bot,
            target=dict(schedule.target),
            title=spec.heading,
            metric=spec.metric,
            detector=spec.detector.build().name,
            value=t.point.value,
            narration=narration,
        )
