"""Alert cards in Discord: raised by the anomaly handler, posted through the outbox to the Discord
stand-in; the buttons clicked over the gateway. Silence is refused to a plain member (ephemerally,
audited), Acknowledge edits the card to say who, Investigate starts the ops bot in the card's
thread, a click from another server's tenant finds nothing, and the resolution is posted in the
card's thread while the card loses its buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from channels.discord import DiscordChannel, discord_renderer
from channels.discord.alerts import DiscordNoticeRenderer
from core.alerts.lifecycle import AlertStatus
from core.notices import Notice
from core.queue.inprocess import InProcessQueue
from core.settings import Settings
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from scheduler.anomaly.demo import METRIC, ensure_demo_check
from service.composition import alert_desk, build_service, surface_ports
from tests.channels.alert_testbed import CLICKED, AlertService, alert_service
from tests.channels.discord.conftest import (
    ADMIN,
    ALICE,
    BOB,
    FAST_DISPATCH,
    FAST_SINK,
    TENANT,
    DiscordTestbed,
    connected,
    disconnected,
    settings_for,
)
from tests.core.engine.harness import Engine
from tests.fakes.discord_api import CHANNEL_ID, FakeDiscord, Message, Person

OWNER = Person("700000000000000009")
STRANGER = Person("700000000000000077")  # writes from another server's tenant (a DM there)
OTHER_GUILD = "800000000000000555"


@asynccontextmanager
async def alert_bed(
    database_url: str, fake: FakeDiscord
) -> AsyncIterator[tuple[DiscordTestbed, AlertService]]:
    notices = DiscordNoticeRenderer()
    async with alert_service(database_url, "discord", discord_renderer(), notices) as service:
        settings = settings_for(fake, dm_guild=OTHER_GUILD)  # DMs belong to another tenant
        runtime, store = service.engine.runtime, service.store
        alerts = alert_desk(runtime, store, "discord", notices)
        channel = DiscordChannel(
            settings, runtime, surface_ports(store), alerts, dispatch=FAST_DISPATCH, sink=FAST_SINK
        )
        await channel.start()
        try:
            await connected(channel, fake)
            yield DiscordTestbed(fake, service.store, service.engine, channel), service
        finally:
            await channel.stop()
            await disconnected(fake)


def alert_card(fake: FakeDiscord) -> Message | None:
    return next((m for m in fake.messages(CHANNEL_ID) if "Alert:" in m.text()), None)


def card_now(fake: FakeDiscord) -> Message:
    card = alert_card(fake)
    assert card is not None
    return card


def verbs(message: Message) -> list[str]:
    return [b["custom_id"].rpartition(":")[2] for b in message.buttons()]


def click(fake: FakeDiscord, who: Person, verb: str, *, dm: bool = False) -> None:
    card = card_now(fake)
    [button] = [b for b in card.buttons() if b["custom_id"].endswith(f":{verb}")]
    fake.click(who, card, button["custom_id"], dm=dm)


async def test_alert_buttons_in_discord(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    async with alert_bed(database_url, fake) as (bed, service):
        await bed.store.directory.create_tenant("Discord", tenant_id=TENANT)
        owner = await bed.store.directory.resolve_identity(TENANT, "discord", OWNER.id, display_name="owner")
        target = {"surface": "discord", "channel": CHANNEL_ID}
        schedule, now = await service.raise_alert(TENANT, owner.id, target)

        await bed.settle(lambda: alert_card(fake) is not None)
        card = card_now(fake)
        [alert] = await AlertStore(bed.store.db, bed.store.clock, {}).find(TENANT)
        assert [b["custom_id"] for b in card.buttons()] == [
            f"sb:alert:{alert.id}:ack",
            f"sb:alert:{alert.id}:investigate",
            f"sb:alert:{alert.id}:silence",
        ]
        assert [b["label"] for b in card.buttons()] == ["Acknowledge", "Investigate", "Silence 1 h"]
        assert "Checkout latency spiked." in card.text() and METRIC in card.text()
        assert card.allowed_mentions == {"parse": []}

        click(fake, BOB, "silence")  # a plain member: refused, only Bob is told
        await bed.settle(lambda: len(fake.ephemeral_to(BOB.id)) == 1)
        assert "Only an admin or the owner" in fake.ephemeral_to(BOB.id)[0]
        assert verbs(card_now(fake)) == ["ack", "investigate", "silence"]  # nothing changed

        click(fake, BOB, "ack")
        await bed.settle(lambda: f"acknowledged by <@{BOB.id}>" in card_now(fake).text())
        assert verbs(card_now(fake)) == ["investigate", "silence"]
        assert card_now(fake).allowed_mentions == {"parse": []}

        click(fake, ALICE, "investigate")
        await bed.settle(lambda: any(m.content == "Looking into it." for m in fake.messages(card.id)))
        [run] = await bed.store.runs.find(TENANT, bot="ops")
        assert run.thread_key == f"{CHANNEL_ID}:{card.id}"  # the thread that starts on the card
        alice = await bed.store.directory.resolve_identity(TENANT, "discord", ALICE.id, display_name="alice")
        assert run.user_id == alice.id
        await bed.settle(lambda: verbs(card_now(fake)) == ["silence"])

        click(fake, STRANGER, "silence", dm=True)  # from another tenant: no such alert there
        await bed.settle(lambda: len(fake.ephemeral_to(STRANGER.id)) == 1)
        assert fake.ephemeral_to(STRANGER.id) == ["I cannot find this request any more."]

        click(fake, ADMIN, "silence")  # an admin (by role) may
        await bed.settle(lambda: f"silenced by <@{ADMIN.id}>" in card_now(fake).text())
        assert verbs(card_now(fake)) == []

        assert await service.clicks(TENANT) == CLICKED

        # Recovery: the resolution is posted in the card's thread; the card shows no buttons.
        await service.recover(TENANT, schedule, now)
        await bed.settle(lambda: any(m.content.startswith("Resolved:") for m in fake.messages(card.id)))
        assert card_now(fake).buttons() == [] and "Resolved" in card_now(fake).text()
        [alert] = await AlertStore(bed.store.db, bed.store.clock, {}).find(TENANT)
        assert alert.status is AlertStatus.RESOLVED

    # Every click was acknowledged at once (a deferred update), before anything was decided.
    assert [c.body["type"] for c in fake.calls("callback") if c.body] == [6] * 5
    assert len([m for m in fake.messages(CHANNEL_ID) if "Alert:" in m.text()]) == 1  # one card, edited


def test_a_card_in_a_thread_or_a_dm_is_answered_by_a_reply() -> None:
    """Threads do not nest and DMs have none: the resolution references the card instead."""
    renderer = DiscordNoticeRenderer()
    delivered = {"id": "M1", "channel": "T1"}
    in_thread = {"surface": "discord", "channel": CHANNEL_ID, "thread": "T1"}
    in_dm = {"surface": "discord", "user": ALICE.id}
    for target in (in_thread, in_dm):
        [item] = renderer.render(Notice("n:resolved", target, "Resolved: ok", reply_to="n:card"), delivered)
        assert item.target == {"channel": "T1"}
        assert item.payload["message"]["message_reference"] == {
            "message_id": "M1",
            "fail_if_not_exists": False,
        }
    [card] = renderer.render(Notice("n:card", in_dm, "text", title="Alert: x"), None)
    assert card.target == {"user": ALICE.id}  # the sink opens the DM
    [early] = renderer.render(Notice("n:resolved", in_thread, "Resolved: ok", reply_to="n:card"), None)
    assert early.target == {"channel": "T1"} and early.payload["after"] == "n:card"  # after the card


async def test_the_composition_root_shows_alerts_in_discord(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    """With Discord configured, the service draws alerts for Discord channels: the scheduler fires
    a check targeting one, its card is posted, and its buttons work."""
    fake = fake_discord
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/serve.db", discord=settings_for(fake))
    service = await build_service(settings)
    await service.start(sweep=False, listen=True)
    try:
        assert service.discord is not None and service.scheduler is not None
        assert isinstance(service.queue, InProcessQueue)  # no broker configured
        await connected(service.discord, fake)
        engine = Engine(service.runtime, service.worker, service.queue)
        bed = DiscordTestbed(fake, service.store, engine, service.discord)
        await service.store.directory.create_tenant("Discord", tenant_id=TENANT)
        owner = await service.store.directory.resolve_identity(TENANT, "discord", OWNER.id, display_name="o")
        target = {"surface": "discord", "channel": CHANNEL_ID}
        now = service.store.clock.now()
        check = await ensure_demo_check(service.store, TENANT, owner.id, bot="ops", target=target, now=now)
        assert await service.scheduler.fire_now(check)
        await bed.settle(lambda: alert_card(fake) is not None)
        assert verbs(card_now(fake)) == ["ack", "investigate", "silence"]
        click(fake, ADMIN, "ack")
        await bed.settle(lambda: f"acknowledged by <@{ADMIN.id}>" in card_now(fake).text())
    finally:
        await service.stop()
        await disconnected(fake)
