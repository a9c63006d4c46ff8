"""The alert state machine through the desk: acknowledge, silence until a time, investigate,
resolve; invalid transitions and unauthorized people refused; every decision and refusal audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from core.alerts.desk import AlertDesk
from core.alerts.lifecycle import TRANSITIONS, Alert, AlertStatus, check_transition
from core.errors import Conflict, Forbidden, IllegalTransition, NotFound
from core.records import AuditQuery
from core.store.alerts import AlertStore, CheckAdvance, NewAlert, Resolve
from core.store.context import ContextStore
from scheduler.anomaly.digest import AlertDigest
from tests.conftest import TenantFixture, make_tenant
from tests.fakes.models import FunctionModel, Say
from tests.scheduler.anomaly.conftest import SURFACE, ManualClock, PlainNotices, check_schedule, ops_engine

CHECK = "sch_check"


@dataclass
class Desk:
    desk: AlertDesk
    alerts: AlertStore
    clock: ManualClock
    store: ContextStore

    async def raise_alert(self, tenant: TenantFixture, incident_ts: float = 1.0) -> Alert:
        state = await self.alerts.check(tenant.id, CHECK)
        done = await self.alerts.advance(
            tenant.id,
            CHECK,
            CheckAdvance(state.version, {"n": incident_ts}, (new_alert(tenant, incident_ts),)),
        )
        return done.opened[0]

    async def resolve(self, tenant: TenantFixture) -> None:
        state = await self.alerts.check(tenant.id, CHECK)
        await self.alerts.advance(tenant.id, CHECK, CheckAdvance(state.version, {}, (Resolve("fine again"),)))

    async def actions(self, tenant: TenantFixture) -> list[tuple[str, str | None, str | None]]:
        entries = await self.store.audit.query(tenant.id, AuditQuery())
        return [
            (e.action, e.actor_user_id, e.detail.get("reason"))
            for e in entries
            if e.action.startswith("alert.")
        ]


def new_alert(tenant: TenantFixture, incident_ts: float) -> NewAlert:
    return NewAlert(
        incident_ts=incident_ts,
        owner_id=tenant.member.user_id,  # alice owns the check
        bot="ops",
        target={"surface": SURFACE, "channel": "C1"},
        title="Checkout latency",
        metric="checkout_latency_ms",
        detector="z-score > 4 over 30 points",
        value=910.0,
        narration="It jumped.",
    )


@pytest.fixture
async def desk(store: ContextStore) -> AsyncIterator[Desk]:
    clock = ManualClock()
    alerts = AlertStore(store.db, clock, {SURFACE: PlainNotices()})
    async with ops_engine(store, FunctionModel(lambda messages: Say("Looking into it."))) as eng:
        yield Desk(AlertDesk(eng.runtime, alerts, store.audit), alerts, clock, store)


def test_the_transition_table() -> None:
    check_transition(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
    check_transition(AlertStatus.SILENCED, AlertStatus.OPEN)
    for target in AlertStatus:
        with pytest.raises(IllegalTransition):
            check_transition(AlertStatus.RESOLVED, target)
    assert AlertStatus.ACKNOWLEDGED not in TRANSITIONS[AlertStatus.ACKNOWLEDGED]


async def test_anyone_in_the_tenant_acknowledges_once(desk: Desk, tenant: TenantFixture) -> None:
    alert = await desk.raise_alert(tenant)
    acked = await desk.desk.acknowledge(tenant.other_member, alert.id)
    assert acked.status is AlertStatus.ACKNOWLEDGED and acked.acked_by == tenant.other_member.user_id
    with pytest.raises(IllegalTransition):
        await desk.desk.acknowledge(tenant.member, alert.id)
    stranger = (await make_tenant(desk.store, "elsewhere")).admin
    with pytest.raises(NotFound):
        await desk.desk.acknowledge(stranger, alert.id)
    bob, alice = tenant.other_member.user_id, tenant.member.user_id
    assert await desk.actions(tenant) == [
        ("alert.opened", None, None),
        ("alert.acknowledged", bob, None),
        ("alert.refused", alice, "illegal_transition"),
    ]


async def test_only_admins_and_the_owner_silence_and_the_silence_lapses(
    desk: Desk, tenant: TenantFixture
) -> None:
    alert = await desk.raise_alert(tenant)
    with pytest.raises(Forbidden, match="admin or the owner"):
        await desk.desk.silence(tenant.other_member, alert.id)
    silenced = await desk.desk.silence(tenant.member, alert.id)  # the owner
    assert silenced.status is AlertStatus.SILENCED
    assert silenced.silenced_until == pytest.approx(desk.clock.now() + 3600)
    with pytest.raises(IllegalTransition):
        await desk.desk.silence(tenant.admin, alert.id)  # already silenced

    desk.clock.advance(3599)  # still silenced: an evaluation leaves it so
    state = await desk.alerts.check(tenant.id, CHECK)
    await desk.alerts.advance(tenant.id, CHECK, CheckAdvance(state.version, {}))
    assert (await desk.alerts.get(tenant.id, alert.id)).status is AlertStatus.SILENCED
    desk.clock.advance(2)  # the hour is over: the next evaluation reopens it
    state = await desk.alerts.check(tenant.id, CHECK)
    await desk.alerts.advance(tenant.id, CHECK, CheckAdvance(state.version, {}))
    assert (await desk.alerts.get(tenant.id, alert.id)).status is AlertStatus.OPEN

    admin_silence = await desk.desk.silence(tenant.admin, alert.id)
    assert admin_silence.silenced_by == tenant.admin.user_id
    actions = [a for a, _, _ in await desk.actions(tenant)]
    assert actions == ["alert.opened", "alert.refused", "alert.silenced", "alert.refused", "alert.silenced"]


async def test_a_silence_covers_the_checks_next_incident(desk: Desk, tenant: TenantFixture) -> None:
    alert = await desk.raise_alert(tenant, incident_ts=1.0)
    await desk.desk.silence(tenant.admin, alert.id)
    await desk.resolve(tenant)
    quiet = await desk.raise_alert(tenant, incident_ts=2.0)
    assert quiet.status is AlertStatus.SILENCED and not quiet.notified
    await desk.resolve(tenant)
    desk.clock.advance(3601)  # the silence is over: the next incident is announced again
    loud = await desk.raise_alert(tenant, incident_ts=3.0)
    assert loud.status is AlertStatus.OPEN and loud.notified
    cards = [a.id for a in await desk.alerts.find(tenant.id) if a.notified]
    assert cards == [alert.id, loud.id]


async def test_resolved_is_final(desk: Desk, tenant: TenantFixture) -> None:
    alert = await desk.raise_alert(tenant)
    await desk.resolve(tenant)
    assert (await desk.alerts.get(tenant.id, alert.id)).status is AlertStatus.RESOLVED
    for act in (desk.desk.acknowledge(tenant.member, alert.id), desk.desk.silence(tenant.admin, alert.id)):
        with pytest.raises(IllegalTransition):
            await act


async def test_investigate_starts_the_ops_bot_as_the_clicker_once(desk: Desk, tenant: TenantFixture) -> None:
    alert = await desk.raise_alert(tenant)
    investigated = await desk.desk.investigate(
        tenant.other_member, alert.id, surface="api", thread_key="C1:1700.1"
    )
    run = await desk.store.runs.get(tenant.id, str(investigated.investigation_run_id))
    assert (run.bot, run.user_id, run.thread_key) == ("ops", tenant.other_member.user_id, "C1:1700.1")
    assert investigated.status is AlertStatus.OPEN  # investigating is not acknowledging
    with pytest.raises(Forbidden, match="already under way"):
        await desk.desk.investigate(tenant.member, alert.id, surface="api", thread_key="C1:1700.1")
    assert ("alert.investigated", tenant.other_member.user_id, None) in await desk.actions(tenant)


async def test_concurrent_evaluations_of_a_check_conflict(desk: Desk, tenant: TenantFixture) -> None:
    await desk.alerts.advance(tenant.id, CHECK, CheckAdvance(0, {"a": 1}))
    with pytest.raises(Conflict):
        await desk.alerts.advance(tenant.id, CHECK, CheckAdvance(0, {"a": 2}))
    state = await desk.alerts.check(tenant.id, CHECK)
    assert (state.version, state.state) == (1, {"a": 1})


async def test_the_alerts_digest_context(desk: Desk, tenant: TenantFixture) -> None:
    alert = await desk.raise_alert(tenant)
    schedule = check_schedule(tenant.id, tenant.admin.user_id)
    digest = AlertDigest(desk.alerts)
    now = desk.clock.now()
    section = await digest.section(schedule, now - 86400, now + 1)
    assert section == (
        "Alerts in the last 24 h:\n"
        f"- {alert.title}: checkout_latency_ms = 910 (z-score > 4 over 30 points); open"
    )
    other = await make_tenant(desk.store, "quiet")
    assert await digest.section(check_schedule(other.id, other.admin.user_id), now - 86400, now + 1) is None
