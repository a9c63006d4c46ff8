"""Alert cards in Slack: raised by the anomaly handler, posted through the outbox to the Slack
stand-in; the buttons clicked with signed interactivity requests. Silence is refused to a plain
member (ephemerally, audited), Acknowledge edits the card to say who, Investigate starts the ops
bot in the card's thread, and the resolution is posted in that thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from channels.slack import SlackChannel, slack_renderer
from channels.slack.alerts import SlackNoticeRenderer
from core.alerts.lifecycle import AlertStatus
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from scheduler.anomaly.demo import METRIC
from service.composition import alert_desk, surface_ports
from tests.channels.alert_testbed import CLICKED, AlertService, alert_service
from tests.channels.slack.conftest import FAST_DISPATCH, FAST_SINK, SlackTestbed, settings_for
from tests.channels.slack.test_buttons import buttons, card_text, ephemerals, where
from tests.fakes.slack_api import TEAM_ID, FakeSlackApi

TENANT = f"slack-{TEAM_ID}"
CHANNEL = "C100"


@asynccontextmanager
async def alert_bed(database_url: str, api: FakeSlackApi) -> AsyncIterator[tuple[SlackTestbed, AlertService]]:
    settings = settings_for(api)
    async with alert_service(
        database_url, "slack", slack_renderer(settings), SlackNoticeRenderer()
    ) as service:
        runtime, store = service.engine.runtime, service.store
        alerts = alert_desk(runtime, store, "slack", SlackNoticeRenderer())
        channel = SlackChannel(
            settings, runtime, surface_ports(store), alerts, dispatch=FAST_DISPATCH, sink=FAST_SINK
        )
        await channel.start()
        app = Starlette(routes=[Mount("/slack", app=channel.asgi())])
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://slack.test"
            ) as http:
                yield SlackTestbed(api, service.store, service.engine, channel, http), service
        finally:
            await channel.stop()


def alert_card(api: FakeSlackApi) -> Any:
    return next((m for m in api.messages(CHANNEL) if m.thread_ts is None and "Alert:" in card_text(m)), None)


def action_ids(message: Any) -> list[str]:
    return [b["action_id"].split(":")[0] for b in buttons(message)]


async def click(bed: SlackTestbed, user: str, verb: str, message: Any, team: str = TEAM_ID) -> None:
    button = next(b for b in buttons(message) if b["action_id"].startswith(f"sb_alert_{verb}:"))
    response = await bed.click(user, button["action_id"], button["value"], where(message), team=team)
    assert response.status_code == 200, response.text


async def test_alert_buttons_in_slack(
    database_url: str, store: ContextStore, slack_api: FakeSlackApi
) -> None:
    async with alert_bed(database_url, slack_api) as (bed, service):
        await bed.store.directory.create_tenant("Slack", tenant_id=TENANT)
        owner = await bed.store.directory.resolve_identity(TENANT, "slack", "UOWNER", display_name="owner")
        target = {"surface": "slack", "channel": CHANNEL}
        schedule, now = await service.raise_alert(TENANT, owner.id, target)

        await bed.settle(lambda: alert_card(slack_api) is not None)
        card = alert_card(slack_api)
        assert action_ids(card) == ["sb_alert_ack", "sb_alert_investigate", "sb_alert_silence"]
        assert "Checkout latency spiked." in card_text(card) and METRIC in str(card.blocks)
        [alert] = await AlertStore(bed.store.db, bed.store.clock, {}).find(TENANT)
        assert all(b["action_id"].endswith(f":{alert.id}") and b["value"] == alert.id for b in buttons(card))

        await click(bed, "UBOB", "silence", card)  # a plain member: refused, only Bob is told
        await bed.settle(lambda: len(ephemerals(slack_api, "UBOB")) == 1)
        assert "Only an admin or the owner" in ephemerals(slack_api, "UBOB")[0]

        await click(bed, "UBOB", "ack", card)
        await bed.settle(
            lambda: (
                "acknowledged by <@UBOB>"
                in card_text(alert_card(slack_api)) + str(alert_card(slack_api).blocks)
            )
        )
        card = alert_card(slack_api)
        assert action_ids(card) == ["sb_alert_investigate", "sb_alert_silence"]

        await click(bed, "UALICE", "investigate", card)
        await bed.settle(
            lambda: any(m.text == "Looking into it." for m in slack_api.thread(CHANNEL, card.ts))
        )
        [run] = await bed.store.runs.find(TENANT, bot="ops")
        assert run.thread_key == f"{CHANNEL}:{card.ts}"
        alice = await bed.store.directory.resolve_identity(TENANT, "slack", "UALICE", display_name="alice")
        assert run.user_id == alice.id

        await click(
            bed, "UOTHER", "silence", alert_card(slack_api), team="T999"
        )  # another workspace: no such alert
        await bed.settle(lambda: len(ephemerals(slack_api, "UOTHER")) == 1)
        assert ephemerals(slack_api, "UOTHER") == ["I cannot find this request any more."]

        await click(bed, "UADMIN", "silence", alert_card(slack_api))  # an admin may
        await bed.settle(lambda: "silenced by <@UADMIN>" in str(alert_card(slack_api).blocks))

        assert await service.clicks(TENANT) == CLICKED

        # Recovery: the resolution is posted in the card's thread; the card loses its buttons.
        await service.recover(TENANT, schedule, now)
        await bed.settle(
            lambda: any(m.text.startswith("Resolved:") for m in slack_api.thread(CHANNEL, card.ts))
        )
        await bed.settle(lambda: buttons(alert_card(slack_api)) == [])
        [alert] = await AlertStore(bed.store.db, bed.store.clock, {}).find(TENANT)
        assert alert.status is AlertStatus.RESOLVED
