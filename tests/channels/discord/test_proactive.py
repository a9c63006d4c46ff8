"""Scheduled digests on Discord: posted at the top level of a channel (no thread, no progress
message, no typing) or in a DM the bot opens, formatted under the Discord profile, delivered once
however often the fire is re-run; a target that is gone disables its schedule (audited) and the
owner hears of it by DM. Targets are checked when the schedule is created.

Each test fires first and starts delivering once the run is done, so what reaches the stand-in
does not depend on how fast the model answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from channels.discord.markup import split_markdown
from channels.discord.profile import address, is_proactive, proactive_key
from channels.discord.renderer import DiscordRenderer
from core.errors import InvalidInput
from core.events import EventType
from core.model.port import Message as ModelMessage
from core.records import Principal, Run, RunEvent
from core.schedule_records import Draft, Schedule
from core.store.context import ContextStore
from scheduler.digest import DigestHandler
from service.scheduling import THREAD_KEYS, schedule_book
from tests.channels.discord.conftest import (
    ALICE,
    BOB,
    TENANT,
    DiscordTestbed,
    discord_service,
    settings_for,
)
from tests.channels.discord.test_renderer import RUN
from tests.channels.testbed import fire, schedule_digest
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID, FakeDiscord
from tests.fakes.models import FunctionModel, Reply, Say

DIGEST = "**Ops digest**\n\n" + "\n".join(f"- Run {i}: completed; @everyone saw it" for i in range(80))
GONE_CHANNEL = "800000000000000999"


def digest(_: list[ModelMessage]) -> Reply:
    return Say(DIGEST)


@pytest.mark.parametrize(
    ("target", "key", "where"),
    [
        ({"channel": "C1"}, "C1:~sch_1.100", {"channel": "C1"}),
        (
            {"channel": "C1", "thread": "T1"},
            "C1:T1",
            {"channel": "T1", "parent": "C1", "thread_name": "Switchboard"},
        ),
        ({"user": "U1"}, "@U1:~sch_1.100", {"user": "U1"}),
    ],
)
def test_targets_become_session_keys_and_addresses(
    target: dict[str, str], key: str, where: dict[str, str]
) -> None:
    assert proactive_key({"surface": "discord", **target}, "sch_1.100") == key
    assert address(key) == where
    assert is_proactive(key) == ("thread" not in target)


def test_a_proactive_run_has_no_progress_message_and_no_typing() -> None:
    run = replace(RUN, thread_key="@U1:~sch_1.100")
    renderer = DiscordRenderer()
    opened = renderer.render(
        run,
        [
            RunEvent(run.id, 1, EventType.RUN_CREATED, {}, 0.0),
            RunEvent(run.id, 2, EventType.MODEL_CALLED, {}, 0.0),
        ],
    )
    assert [(o.target, o.payload) for o in opened] == [({"user": "U1"}, {"op": "noop"})]
    done = renderer.render(run, [RunEvent(run.id, 3, EventType.RUN_COMPLETED, {"answer": "*hi*"}, 0.0)])
    answer = next(o for o in done if o.payload.get("op") == "post")
    assert answer.target == {"user": "U1"} and answer.payload["message"] == {"content": "*hi*"}


@dataclass
class Scheduled:
    bed: DiscordTestbed
    owner: Principal

    @property
    def fake(self) -> FakeDiscord:
        return self.bed.fake

    @property
    def store(self) -> ContextStore:
        return self.bed.store

    async def schedule(self, target: dict[str, Any]) -> Schedule:
        return await schedule_digest(
            self.bed.engine.runtime, self.bed.store, self.owner, {"surface": "discord", **target}
        )

    async def fire(self, schedule: Schedule) -> Run:
        """Fire now, as the scheduler does, and wait for the digest run to finish."""
        return await fire(self.bed.engine.runtime, self.bed.store, self.owner, schedule)

    async def deliver(self, check: Any) -> None:
        await self.bed.channel.dispatcher.start()
        await self.bed.settle(check)


@asynccontextmanager
async def scheduled(database_url: str, fake: FakeDiscord) -> AsyncIterator[Scheduled]:
    settings = settings_for(fake, deliver=False)  # the test starts delivery itself
    async with discord_service(database_url, fake, FunctionModel(digest), settings) as bed:
        people = bed.channel.people
        owner = await people.principal(await people.tenant(GUILD_ID), ALICE.id, frozenset())
        yield Scheduled(bed, owner)


def text_of(fake: FakeDiscord, channel: str) -> str:
    return "\n".join(m.content for m in fake.messages(channel))


async def test_a_digest_is_posted_once_at_the_top_level_of_a_channel(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    async with scheduled(database_url, fake) as s:
        schedule = await s.schedule({"channel": f"<#{CHANNEL_ID}>"})  # a pasted mention is fine
        assert schedule.target["channel"] == CHANNEL_ID
        run = await s.fire(schedule)
        [fire] = await s.store.schedules.fires(TENANT, schedule.id)
        assert run.thread_key == f"{CHANNEL_ID}:~{schedule.id}.{int(fire.fire_at)}"

        # The same fire again (a scheduler retaking it after a crash) finds the same run.
        await DigestHandler(s.bed.engine.runtime, s.bed.store, THREAD_KEYS, {}).fire(
            schedule, datetime.fromtimestamp(fire.fire_at, UTC)
        )
        assert [r.id for r in await s.store.runs.find(TENANT)] == [run.id]

        parts = split_markdown(DIGEST, 2000)
        await s.deliver(lambda: len(fake.messages(CHANNEL_ID)) >= len(parts))

    posted = fake.messages(CHANNEL_ID)
    assert len(posted) == len(parts) > 1  # each part once, nothing else
    assert posted[0].content.startswith("**Ops digest**")  # Discord markdown, as the model wrote it
    assert all(len(m.content) <= 2000 and m.edits == 0 for m in posted)
    assert "@\u200beveryone" in posted[0].content and "@everyone" not in text_of(fake, CHANNEL_ID)
    assert all(m.allowed_mentions == {"parse": []} for m in posted)
    assert "Run 79:" in posted[-1].content
    assert fake.calls("open_thread") == [] and fake.calls("typing") == []  # top level, no status


async def test_a_digest_for_a_user_is_posted_in_a_dm_the_bot_opens(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    async with scheduled(database_url, fake) as s:
        schedule = await s.schedule({"user": f"<@{BOB.id}>"})
        await s.fire(schedule)
        await s.deliver(lambda: BOB.id in fake.dms and "Run 79:" in text_of(fake, fake.dms[BOB.id]))

    assert [c.body for c in fake.calls("open_dm")] == [{"recipient_id": BOB.id}]  # opened once
    assert text_of(fake, fake.dms[BOB.id]).startswith("**Ops digest**")
    assert fake.messages(CHANNEL_ID) == []


@pytest.mark.parametrize(
    ("channel", "code"),
    [(GONE_CHANNEL, 10003), (CHANNEL_ID, 50001)],
    ids=["unknown-channel", "missing-access"],
)
async def test_a_gone_target_disables_the_schedule_and_tells_the_owner(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord, channel: str, code: int
) -> None:
    fake = fake_discord
    async with scheduled(database_url, fake) as s:
        schedule = await s.schedule({"channel": channel})
        await s.fire(schedule)
        if code == 50001:  # the bot lost access to the channel
            fake.fail("create_message", times=1, status=403, code=code)
        await s.deliver(lambda: ALICE.id in fake.dms and bool(fake.messages(fake.dms[ALICE.id])))

        found = await s.store.schedules.get(TENANT, schedule.id)
        assert not found.enabled
        assert found.disabled_reason is not None
        assert (
            found.disabled_reason.startswith("discord target gone:") and f"({code})" in found.disabled_reason
        )
        audit = [e for e in await s.store.audit.query(TENANT) if e.action == "schedule.disabled"]
        assert [e.detail["schedule_id"] for e in audit] == [schedule.id]

    [dm] = fake.messages(fake.dms[ALICE.id])
    assert "paused your schedule **ops digest**" in dm.content and schedule.id in dm.content
    assert f"<#{channel}>" in dm.content
    assert fake.messages(CHANNEL_ID) == []  # nothing of the digest got through


async def test_discord_targets_are_checked_when_the_schedule_is_created(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord
) -> None:
    async with scheduled(database_url, fake_discord) as s:
        for target, reason in [
            ({"channel": "general"}, "numeric id"),
            ({"channel": "#general"}, "numeric id"),
            ({"user": "@alice"}, "a Discord user is its numeric id"),
            ({"channel": CHANNEL_ID, "thread": "the-thread"}, "a Discord thread"),
            ({"conversation": "a:1"}, "not a conversation"),
            ({}, "exactly one of channel or user"),
        ]:
            with pytest.raises(InvalidInput, match=reason):
                await s.schedule(target)
        with pytest.raises(InvalidInput, match="post to discord, slack, teams"):
            await schedule_book(s.bed.store, s.bed.engine.runtime.bots).create(
                s.owner,
                Draft(
                    bot="support", prompt="p", cron="0 9 * * *", target={"surface": "pager", "channel": "1"}
                ),
            )
        assert await s.store.schedules.find(TENANT) == []
