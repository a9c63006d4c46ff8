"""The anomaly fire handler, called directly with a schedule record: the demo seed raises exactly
one alert, narrated by the offline demo model; recovery resolves it in the card's thread; a new
incident is a new alert; a failing model leaves a plain narration; a doubled fire alerts once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import insert, select

from core.alerts.lifecycle import AlertStatus
from core.model.gateway import OpenAIGateway
from core.model.port import ModelClient
from core.scripted_model import ScriptedModelServer
from core.settings import ModelSettings
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from core.store.schema import demo_metrics, outbox
from scheduler.anomaly.demo import METRIC, STEP_S, demo_series, ensure_demo_check
from scheduler.anomaly.handler import AnomalyHandler, Sources
from scheduler.anomaly.narrator import Narrator
from scheduler.anomaly.sources import Bounds, SqlMetrics
from service.composition import demo_script
from tests.conftest import TenantFixture
from tests.fakes.models import FunctionModel, Say
from tests.scheduler.anomaly.conftest import BOTS, SURFACE, ManualClock, PlainNotices, at

TARGET = {"surface": SURFACE, "channel": "C1"}


@pytest.fixture(scope="module")
def narrating_server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(demo_script(BOTS)) as server:
        yield server


@pytest.fixture
async def gateway(narrating_server: ScriptedModelServer) -> AsyncIterator[OpenAIGateway]:
    async with OpenAIGateway(ModelSettings(base_url=narrating_server.base_url, max_retries=0)) as gateway:
        yield gateway


class Checks:
    def __init__(self, database_url: str, store: ContextStore, model: ModelClient) -> None:
        self.clock = ManualClock(1_800_000_000.0)
        self.store = store
        self.alerts = AlertStore(store.db, self.clock, {SURFACE: PlainNotices()})
        self.metrics = SqlMetrics(database_url, {}, Bounds())
        self.handler = AnomalyHandler(self.alerts, Sources(self.metrics), Narrator(model, 10), BOTS)

    async def append(self, tenant_id: str, values: list[float]) -> None:
        """New points after the newest one, a minute apart; the clock follows."""
        newest = await self.store.db.run(
            lambda conn: conn.execute(
                select(demo_metrics.c.ts)
                .where(demo_metrics.c.tenant_id == tenant_id)
                .order_by(demo_metrics.c.ts.desc())
            ).first()
        )
        rows = [
            {"tenant_id": tenant_id, "name": METRIC, "ts": newest.ts + STEP_S * (i + 1), "value": v}
            for i, v in enumerate(values)
        ]
        await self.store.db.run(lambda conn: conn.execute(insert(demo_metrics), rows))
        self.clock.advance(STEP_S * len(values))

    async def notices(self, tenant_id: str) -> list[Any]:
        stmt = (
            select(outbox).where(outbox.c.tenant_id == tenant_id).order_by(outbox.c.created_at, outbox.c.id)
        )
        return list(await self.store.db.run(lambda conn: conn.execute(stmt).all()))


@pytest.fixture
async def checks(database_url: str, store: ContextStore, gateway: OpenAIGateway) -> AsyncIterator[Checks]:
    checks = Checks(database_url, store, gateway)
    yield checks
    checks.metrics.close()


async def test_the_demo_raises_exactly_one_alert(checks: Checks, tenant: TenantFixture) -> None:
    owner = tenant.member.user_id
    schedule = await ensure_demo_check(
        checks.store, tenant.id, owner, bot="ops", target=TARGET, now=checks.clock.now()
    )
    again = await ensure_demo_check(
        checks.store, tenant.id, owner, bot="ops", target=TARGET, now=checks.clock.now()
    )
    assert again.id == schedule.id

    for minute in range(3):  # the same data, evaluated on three fires
        await checks.handler.fire(schedule, at(checks.clock.now() + minute * 60))

    [alert] = await checks.alerts.find(tenant.id)
    assert alert.status is AlertStatus.OPEN and alert.check_id == schedule.id
    assert alert.value == demo_series(checks.clock.now())[-2].value  # open_after 2: the second spike point
    assert alert.narration.startswith(f"{METRIC} jumped to {alert.value:g} at ")  # the demo model's words
    assert "z-score" in alert.narration
    [card] = await checks.notices(tenant.id)
    assert card.dedupe_key == f"alert:{alert.id}:card" and card.target == TARGET
    assert card.payload["actions"] == ["alert_ack", "alert_investigate", "alert_silence"]
    assert card.payload["title"] == "Alert: Checkout latency"


async def test_recovery_resolves_in_the_cards_thread_and_a_new_incident_is_a_new_alert(
    checks: Checks, tenant: TenantFixture
) -> None:
    schedule = await ensure_demo_check(
        checks.store, tenant.id, tenant.member.user_id, bot="ops", target=TARGET, now=checks.clock.now()
    )
    await checks.handler.fire(schedule, at(checks.clock.now()))
    [alert] = await checks.alerts.find(tenant.id)
    [card] = await checks.notices(tenant.id)
    await checks.store.outbox.delivered(card.id, {"ts": "1700.1", "channel": "C1"})  # as a surface records it

    await checks.append(tenant.id, [121.0, 118.0])  # two normal points: not yet resolved
    await checks.handler.fire(schedule, at(checks.clock.now()))
    assert (await checks.alerts.get(tenant.id, alert.id)).status is AlertStatus.OPEN
    await checks.append(tenant.id, [119.0])
    await checks.handler.fire(schedule, at(checks.clock.now()))
    resolved = await checks.alerts.get(tenant.id, alert.id)
    assert resolved.status is AlertStatus.RESOLVED and resolved.resolved_at == checks.clock.now()

    told = {n.dedupe_key: n.payload for n in await checks.notices(tenant.id)}
    reply = told[f"alert:{alert.id}:resolved"]
    assert reply["reply_to"] == f"alert:{alert.id}:card" and reply["replied"] == {
        "ts": "1700.1",
        "channel": "C1",
    }
    assert reply["text"].startswith(f"Resolved: {METRIC} is back to normal (119;")
    assert told[f"alert:{alert.id}:card:v2"]["actions"] == []  # the card, edited: no buttons left

    await checks.append(tenant.id, [700.0, 720.0, 710.0])
    await checks.handler.fire(schedule, at(checks.clock.now()))
    first, second = await checks.alerts.find(tenant.id)
    assert (first.id, first.status, second.status) == (alert.id, AlertStatus.RESOLVED, AlertStatus.OPEN)
    assert second.value == 720.0


async def test_a_failing_model_leaves_a_plain_narration(
    database_url: str, store: ContextStore, tenant: TenantFixture
) -> None:
    model = FunctionModel(lambda messages: Say("unused"), down=True)
    checks = Checks(database_url, store, model)
    try:
        schedule = await ensure_demo_check(
            store, tenant.id, tenant.admin.user_id, bot="ops", target=TARGET, now=checks.clock.now()
        )
        await checks.handler.fire(schedule, at(checks.clock.now()))
    finally:
        checks.metrics.close()
    [alert] = await checks.alerts.find(tenant.id)
    assert alert.narration.startswith(f"{METRIC} is {alert.value:g}: z-score ")
    assert len(model.requests) == 1 and model.requests[0].models == ("switchboard-demo",)


async def test_a_doubled_fire_alerts_once(checks: Checks, tenant: TenantFixture) -> None:
    schedule = await ensure_demo_check(
        checks.store, tenant.id, tenant.member.user_id, bot="ops", target=TARGET, now=checks.clock.now()
    )
    fire_at = at(checks.clock.now())
    await asyncio.gather(checks.handler.fire(schedule, fire_at), checks.handler.fire(schedule, fire_at))
    assert len(await checks.alerts.find(tenant.id)) == 1
    assert len(await checks.notices(tenant.id)) == 1


async def test_a_surface_without_notices_still_records_the_alert(
    checks: Checks, tenant: TenantFixture
) -> None:
    schedule = await ensure_demo_check(
        checks.store,
        tenant.id,
        tenant.member.user_id,
        bot="ops",
        target={"surface": "pager"},
        now=checks.clock.now(),
    )
    await checks.handler.fire(schedule, at(checks.clock.now()))
    [alert] = await checks.alerts.find(tenant.id)
    assert not alert.notified and await checks.notices(tenant.id) == []
