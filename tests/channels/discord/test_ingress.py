"""Discord messages in, answers out: a mention opens a thread with a progress message and the
answer; a follow-up in that thread continues the conversation; DMs; bots and repeats ignored."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from core.store.context import ContextStore
from tests.channels.discord.conftest import (
    ALICE,
    BOB,
    TENANT,
    DiscordTestbed,
    discord_service,
    echo,
    settings_for,
)
from tests.fakes.discord_api import CHANNEL_ID, DM_CHANNEL_ID, GUILD_ID, FakeDiscord
from tests.fakes.models import FunctionModel


def answers(bed: DiscordTestbed, channel: str) -> list[str]:
    return [m.content for m in bed.fake.messages(channel) if m.content.startswith("You said")]


async def test_a_mention_is_answered_in_a_thread_opened_on_it(bed: DiscordTestbed) -> None:
    fake = bed.fake
    root = fake.say(ALICE, "hello there")
    await bed.settle(lambda: bool(answers(bed, root)))
    assert fake.threads[root]["parent_id"] == CHANNEL_ID  # opened on the mentioning message
    status, answer = fake.messages(root)
    assert answer.content == "You said: hello there"
    await bed.settle(lambda: fake.messages(root)[0].content == "✅ Done")
    assert status.edits >= 1
    assert all(m.allowed_mentions == {"parse": []} for m in fake.messages(root))
    assert fake.calls("typing", ok_only=True)  # the typing indicator showed while it worked
    [run] = await bed.store.runs.find(TENANT)
    assert run.surface == "discord" and run.thread_key == f"{CHANNEL_ID}:{root}"


async def test_a_follow_up_in_the_thread_continues_without_a_mention(bed: DiscordTestbed) -> None:
    fake = bed.fake
    root = fake.say(ALICE, "first")
    await bed.settle(lambda: len(answers(bed, root)) == 1)
    fake.say(ALICE, "second", channel=root, mention=False)
    await bed.settle(lambda: len(answers(bed, root)) == 2)
    assert answers(bed, root) == ["You said: first", "You said: second"]
    runs = await bed.store.runs.find(TENANT)
    assert len(runs) == 2 and len({r.session_id for r in runs}) == 1


async def test_unmentioned_chatter_bots_and_repeats_are_ignored(bed: DiscordTestbed) -> None:
    fake = bed.fake
    fake.say(BOB, "just chatting", mention=False)
    fake.say(BOB, "a bot speaks", author_bot=True)
    root = fake.say(ALICE, "once")
    fake.say(ALICE, "once", message_id=root)  # the same message again, as after a gateway RESUME
    await bed.settle(lambda: len(answers(bed, root)) == 1)
    await bed.settle(lambda: fake.messages(root)[0].content == "✅ Done")
    assert len(await bed.store.runs.find(TENANT)) == 1
    assert len(fake.messages(root)) == 2  # the progress message and one answer


async def test_a_dm_is_answered_in_the_dm(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord
) -> None:
    settings = settings_for(fake_discord, dm_guild=GUILD_ID)
    async with discord_service(database_url, fake_discord, FunctionModel(echo), settings) as bed:
        fake_discord.say(ALICE, "hi in private", channel=DM_CHANNEL_ID, mention=False, dm=True)
        await bed.settle(lambda: bool(answers(bed, DM_CHANNEL_ID)))
        await bed.settle(lambda: fake_discord.messages(DM_CHANNEL_ID)[0].content == "✅ Done")
    assert answers(bed, DM_CHANNEL_ID) == ["You said: hi in private"]
    [run] = await store.runs.find(TENANT)
    assert run.thread_key == f"{DM_CHANNEL_ID}:"


async def test_a_message_that_arrives_while_the_store_is_down_is_taken_once_it_is_back(
    bed: DiscordTestbed, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the outage is staged by hiding a table, which SQLite reports as unavailable")
    hide = text("ALTER TABLE inbound_events RENAME TO inbound_events_away")
    await bed.store.db.run(lambda conn: conn.execute(hide))
    root = bed.fake.say(ALICE, "are you there?")
    await asyncio.sleep(0.6)  # the gateway delivered it into a dead store: it is being retried
    assert answers(bed, root) == []
    back = text("ALTER TABLE inbound_events_away RENAME TO inbound_events")
    await bed.store.db.run(lambda conn: conn.execute(back))
    await bed.settle(lambda: bool(answers(bed, root)), timeout=20)
    assert answers(bed, root) == ["You said: are you there?"]
    assert len(await bed.store.runs.find(TENANT)) == 1
