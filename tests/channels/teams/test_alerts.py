"""Alert cards in Teams: raised by the anomaly handler, posted through the outbox to the Bot
Connector stand-in in a stored channel conversation; the buttons pressed as signed
`adaptiveCard/action` invokes. Silence is refused to a plain member (told only them, audited),
Acknowledge replaces the card to say who, Investigate starts the ops bot in the card's
conversation, a click from another Azure AD tenant finds nothing, and the resolution is posted
as a reply in the same conversation while the card loses its buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from channels.teams import TeamsChannel, teams_renderer
from channels.teams.alerts import TeamsNoticeRenderer
from core.alerts.lifecycle import AlertStatus
from core.errors import InvalidInput
from core.notices import Notice
from core.queue.inprocess import InProcessQueue
from core.settings import Settings
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from scheduler.anomaly.demo import METRIC, ensure_demo_check
from service.composition import alert_desk, build_service, surface_ports
from tests.channels.alert_testbed import CLICKED, AlertService, alert_service
from tests.channels.teams.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    FAST_DISPATCH,
    FAST_SINK,
    TENANT,
    TeamsTestbed,
    activity,
    click,
    settings_for,
)
from tests.core.engine.harness import Engine
from tests.fakes.teams_connector import FakeTeamsConnector, Posted

ROOT = "1800077000001"
THREAD = f"{CHANNEL};messageid={ROOT}"  # a channel thread, stored when someone wrote in it
OWNER = "0e000000-0000-0000-0000-0000000000e0"
OTHER_AAD_TENANT = "11111111-2222-3333-4444-555555555555"
STRANGER = {"id": "29:eve", "name": "Eve Else", "aadObjectId": "e0e00000-0000-0000-0000-000000000e0e"}
MESSAGE = "application/vnd.microsoft.activity.message"


@asynccontextmanager
async def alert_bed(
    database_url: str, connector: FakeTeamsConnector
) -> AsyncIterator[tuple[TeamsTestbed, AlertService]]:
    settings = settings_for(connector)
    async with alert_service(
        database_url, "teams", teams_renderer(settings), TeamsNoticeRenderer()
    ) as service:
        runtime, store = service.engine.runtime, service.store
        alerts = alert_desk(runtime, store, "teams", TeamsNoticeRenderer())
        ports = surface_ports(store)
        channel = TeamsChannel(
            settings, runtime, ports, alerts, store.conversations, dispatch=FAST_DISPATCH, sink=FAST_SINK
        )
        await channel.start()
        transport = httpx.ASGITransport(app=Starlette(routes=channel.routes()))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as http:
                yield TeamsTestbed(connector, service.store, service.engine, channel, http), service
        finally:
            await channel.stop()


def actions(m: Posted) -> list[dict[str, Any]]:
    return list((m.card or {}).get("actions") or [])


def alert_card(fake: FakeTeamsConnector) -> Posted | None:
    return next((m for m in fake.conversation(THREAD) if "Alert:" in str(m.card)), None)


def card_now(fake: FakeTeamsConnector) -> Posted:
    card = alert_card(fake)
    assert card is not None
    return card


def verbs(m: Posted) -> list[str]:
    return [a["verb"] for a in actions(m)]


async def press(bed: TeamsTestbed, who: dict[str, str], verb: str, *, aad_tenant: str | None = None) -> str:
    """Press a button on the alert card; what the clicker is told (by the invoke's response)."""
    [button] = [a for a in actions(card_now(bed.connector)) if a["verb"] == verb]
    body = click(bed.connector, THREAD, who, verb, button["data"])
    if aad_tenant is not None:  # the same card, clicked from another Azure AD tenant
        body["channelData"]["tenant"]["id"] = aad_tenant
        body["conversation"]["tenantId"] = aad_tenant
    response = await bed.post(body)
    assert response.status_code == 200, response.text
    told = response.json()
    assert told["statusCode"] == 200 and told["type"] == MESSAGE
    return str(told["value"])


async def test_alert_buttons_in_teams(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector
) -> None:
    fake = connector
    async with alert_bed(database_url, fake) as (bed, service):
        # Someone wrote in the thread (not to the bot): the conversation is stored, nothing answered.
        said = await bed.post(activity(fake, "checkout feels slow", activity_id=ROOT, mention=False))
        assert said.status_code == 200
        owner = await bed.store.directory.resolve_identity(TENANT, "teams", OWNER, display_name="Owen Owner")
        target = {"surface": "teams", "conversation": THREAD}
        schedule, now = await service.raise_alert(TENANT, owner.id, target)

        await bed.settle(lambda: alert_card(fake) is not None)
        card = card_now(fake)
        assert card.reply_to == ROOT  # in the stored thread
        [alert] = await AlertStore(bed.store.db, bed.store.clock, {}).find(TENANT)
        assert verbs(card) == ["sb_alert_ack", "sb_alert_investigate", "sb_alert_silence"]
        assert all(a["type"] == "Action.Execute" and a["data"] == {"value": alert.id} for a in actions(card))
        assert "Checkout latency spiked." in str(card.card) and METRIC in str(card.card)

        told = await press(bed, BOB, "sb_alert_silence")  # a plain member: refused, only Bob is told
        assert told.startswith("Only an admin or the owner")
        assert verbs(card_now(fake)) == ["sb_alert_ack", "sb_alert_investigate", "sb_alert_silence"]

        assert (await press(bed, BOB, "sb_alert_ack")).startswith("Acknowledged")
        await bed.settle(lambda: "acknowledged by Bob Roe" in str(card_now(fake).card))
        assert verbs(card_now(fake)) == ["sb_alert_investigate", "sb_alert_silence"]
        assert card_now(fake).id == card.id  # the same card, replaced

        assert (await press(bed, ALICE, "sb_alert_investigate")).startswith("Investigating")
        await bed.settle(lambda: any(m.text == "Looking into it." for m in fake.conversation(THREAD)))
        [run] = await bed.store.runs.find(TENANT, bot="ops")
        assert run.thread_key == THREAD  # the card's conversation
        alice = await bed.store.directory.resolve_identity(
            TENANT, "teams", ALICE["aadObjectId"], display_name=""
        )
        assert run.user_id == alice.id
        await bed.settle(lambda: verbs(card_now(fake)) == ["sb_alert_silence"])

        told = await press(bed, STRANGER, "sb_alert_silence", aad_tenant=OTHER_AAD_TENANT)
        assert told == "I cannot find this request any more."  # another tenant: no such alert

        assert (await press(bed, ADMIN, "sb_alert_silence")) == "Silenced for an hour."
        await bed.settle(lambda: "silenced by Ada Admin" in str(card_now(fake).card))
        assert verbs(card_now(fake)) == []

        assert await service.clicks(TENANT) == CLICKED

        # Recovery: the resolution is a reply in the same thread; the card shows no buttons.
        await service.recover(TENANT, schedule, now)
        await bed.settle(lambda: any(m.text.startswith("Resolved:") for m in fake.conversation(THREAD)))
        resolved = next(m for m in fake.conversation(THREAD) if m.text.startswith("Resolved:"))
        assert resolved.reply_to == ROOT
        assert actions(card_now(fake)) == [] and "Resolved" in str(card_now(fake).card)
        [alert] = await AlertStore(bed.store.db, bed.store.clock, {}).find(TENANT)
        assert alert.status is AlertStatus.RESOLVED
    assert len([m for m in fake.conversation(THREAD) if "Alert:" in str(m.card)]) == 1  # one card, replaced


def test_a_notice_needs_a_stored_conversation() -> None:
    renderer = TeamsNoticeRenderer()
    with pytest.raises(InvalidInput, match="stored conversation"):
        renderer.render(Notice("n:card", {"surface": "teams", "channel": "19:x"}, "text"), None)
    [early] = renderer.render(
        Notice("n:resolved", {"surface": "teams", "conversation": THREAD}, "Resolved: ok", reply_to="n:card"),
        None,
    )
    assert early.target == {"conversation": THREAD} and early.payload["after"] == "n:card"


async def test_the_composition_root_shows_alerts_in_teams(
    tmp_path: Path, connector: FakeTeamsConnector
) -> None:
    """With Teams configured, the service draws alerts for Teams conversations: the scheduler
    fires a check targeting one, its card is posted, and its buttons work."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/serve.db", teams=settings_for(connector)
    )
    service = await build_service(settings)
    await service.start(sweep=False)
    try:
        assert service.teams is not None and service.scheduler is not None
        transport = httpx.ASGITransport(app=Starlette(routes=service.teams.routes()))
        async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as http:
            assert isinstance(service.queue, InProcessQueue)  # no broker configured
            engine = Engine(service.runtime, service.worker, service.queue)
            bed = TeamsTestbed(connector, service.store, engine, service.teams, http)
            assert (
                await bed.post(activity(connector, "hi", activity_id=ROOT, mention=False))
            ).status_code == 200
            owner = await service.store.directory.resolve_identity(
                TENANT, "teams", OWNER, display_name="Owen"
            )
            target = {"surface": "teams", "conversation": THREAD}
            now = service.store.clock.now()
            check = await ensure_demo_check(
                service.store, TENANT, owner.id, bot="ops", target=target, now=now
            )
            assert await service.scheduler.fire_now(check)
            await bed.settle(lambda: alert_card(connector) is not None)
            assert verbs(card_now(connector)) == ["sb_alert_ack", "sb_alert_investigate", "sb_alert_silence"]
            assert (await press(bed, ADMIN, "sb_alert_ack")).startswith("Acknowledged")
            await bed.settle(lambda: "acknowledged by Ada Admin" in str(card_now(connector).card))
    finally:
        await service.stop()
