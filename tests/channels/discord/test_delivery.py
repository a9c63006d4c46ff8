"""Outbound to Discord: a long answer split at 2,000 characters with code blocks intact and
pings neutralised; rate limits, outages and lost responses delay a message but never drop it or
send it twice."""

from __future__ import annotations

import re

from core.model.port import Message as ModelMessage
from core.store.context import ContextStore
from tests.channels.discord.conftest import ALICE, discord_service, settings_for
from tests.fakes.discord_api import DM_CHANNEL_ID, GUILD_ID, FakeDiscord
from tests.fakes.models import FunctionModel, Reply, Say

CODE = "\n".join(f"    total += price[{i}] * quantity[{i}]  # line {i}" for i in range(120))  # ~6 kB
LONG = (
    "Here is the report, @everyone and <@123456789012345678> and <@&42> should not be pinged.\n\n"
    + "\n\n".join(f"Paragraph {i}: " + "words and more words " * 30 for i in range(4))
    + "\n\n```python\ndef total(price, quantity):\n    total = 0\n"
    + CODE
    + "\n    return total\n```\n\nAnd a short one:\n\n```\nprint('hi')\n```\n\nThat is all."
)


def long_answer(_: list[ModelMessage]) -> Reply:
    return Say(LONG)


def visible(text: str) -> str:
    """The characters a reader gets, whatever the cuts: no whitespace, fences or neutralisers."""
    return re.sub(r"\s+|```(python)?|\u200b", "", text)


async def test_a_long_answer_is_split_at_2000_characters_with_code_blocks_intact(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    async with discord_service(database_url, fake, FunctionModel(long_answer)) as bed:
        root = fake.say(ALICE, "the report please")
        await bed.settle(lambda: fake.messages(root)[:1] and fake.messages(root)[0].content == "✅ Done")
    parts = [m.content for m in fake.messages(root)[1:]]
    assert len(parts) >= 5 and all(len(p) <= 2000 for p in parts)
    for part in parts:
        assert part.count("```") % 2 == 0, part  # every message opens and closes its code blocks
    assert all(p.startswith("```python\n") for p in parts if "line 60" in p)  # the language travels
    code_lines = [line for line in CODE.split("\n")]
    sent_lines = [line for p in parts for line in p.split("\n")]
    assert all(line in sent_lines for line in code_lines)  # no code line is cut
    assert visible("".join(parts)) == visible(LONG.replace("@everyone", "@\u200beveryone"))
    assert (
        "@\u200beveryone" in parts[0]
        and "<@\u200b123456789012345678>" in parts[0]
        and "<@\u200b&42>" in parts[0]
    )
    assert all(m.allowed_mentions == {"parse": []} for m in fake.messages(root))


async def dm_service_answers(database_url: str, fake: FakeDiscord) -> list[str]:
    settings = settings_for(fake, dm_guild=GUILD_ID)
    async with discord_service(database_url, fake, FunctionModel(lambda _: Say("pong")), settings) as bed:
        fake.say(ALICE, "ping", channel=DM_CHANNEL_ID, mention=False, dm=True)
        await bed.settle(lambda: [m.content for m in fake.messages(DM_CHANNEL_ID)] == ["✅ Done", "pong"])
    return [m.content for m in fake.messages(DM_CHANNEL_ID)]


async def test_a_rate_limited_post_is_delivered_once_in_the_end(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord
) -> None:
    # More 429s than discord.py waits out by itself (5 tries): the outbox takes over, honouring
    # retry_after, until Discord takes the message.
    fake_discord.fail("create_message", times=7, status=429, retry_after=0.05)
    assert await dm_service_answers(database_url, fake_discord) == ["✅ Done", "pong"]
    limited = fake_discord.calls("create_message")
    assert [c.status for c in limited[:7]] == [429] * 7
    assert len(fake_discord.calls("create_message", ok_only=True)) == 2  # progress and answer, once each


async def test_an_outage_delays_and_a_lost_response_does_not_duplicate(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord
) -> None:
    fake_discord.fail("create_message", times=3, status=503)  # Discord down for a moment
    assert await dm_service_answers(database_url, fake_discord) == ["✅ Done", "pong"]
    assert [c.status for c in fake_discord.calls("create_message")[:3]] == [503] * 3


async def test_a_post_discord_took_but_whose_answer_was_lost_is_not_repeated(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord
) -> None:
    # The message is created, then the answer is a 502: the post is repeated with the same nonce
    # and Discord hands back the first message instead of making a second.
    fake_discord.fail("create_message", times=1, status=502, after_processing=True)
    assert await dm_service_answers(database_url, fake_discord) == ["✅ Done", "pong"]
    first, second = fake_discord.calls("create_message")[:2]
    assert first.status == 502 and second.body is not None and first.body is not None
    assert second.body["nonce"] == first.body["nonce"] and second.body["enforce_nonce"] is True
