"""Scheduled digests on Teams: posted through a stored conversation reference as a new message (in
a channel, a new post rather than a reply in the thread the reference came from), with no typing
and no progress message, once however often the fire is re-run; a conversation the connector
says is gone (403/404) disables the schedule, audited. Targets are checked when the schedule is
created: a Teams target names a conversation this tenant's bot has stored.

Each test fires first and starts delivering once the run is done, so what reaches the stand-in
does not depend on how fast the model answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from channels.teams.profile import address, is_proactive, proactive_key
from channels.teams.renderer import TeamsRenderer
from core.errors import InvalidInput, NotFound
from core.events import EventType
from core.model.port import Message
from core.records import Principal, Run, RunEvent
from core.schedule_records import Schedule
from core.store.context import ContextStore
from scheduler.digest import DigestHandler
from service.scheduling import THREAD_KEYS
from tests.channels.teams.conftest import (
    AAD_TENANT,
    ALICE,
    CHANNEL,
    PERSONAL,
    TENANT,
    TeamsTestbed,
    activity,
    settings_for,
    teams_service,
)
from tests.channels.teams.test_renderer import _run
from tests.channels.testbed import fire, schedule_digest
from tests.fakes.models import FunctionModel, Reply, Say
from tests.fakes.teams_connector import FakeTeamsConnector
from tests.scheduler.test_service import poll

DIGEST = "**Ops digest**\n\n- Runs: 3 (completed 3)\n- Failures: none"


def digest(_: list[Message]) -> Reply:
    return Say(DIGEST)


def test_a_target_becomes_a_session_key_and_a_new_post_in_its_conversation() -> None:
    stored = f"{CHANNEL};messageid=1700000000001"
    key = proactive_key({"surface": "teams", "conversation": stored}, "sch_1.100")
    assert key == f"{stored}|~sch_1.100" and is_proactive(key)
    assert address(key) == {"conversation": stored, "top_level": True}
    assert address(stored) == {"conversation": stored} and not is_proactive(stored)


def test_a_proactive_run_has_no_typing_and_no_progress_message() -> None:
    run = replace(_run(), thread_key=f"{PERSONAL}|~sch_1.100")
    renderer = TeamsRenderer()
    opened = renderer.render(run, [RunEvent(run.id, 1, EventType.RUN_CREATED, {}, 0.0)])
    target = {"conversation": PERSONAL, "top_level": True}
    assert [(o.target, o.payload) for o in opened] == [(target, {"op": "noop"})]
    done = renderer.render(run, [RunEvent(run.id, 5, EventType.RUN_COMPLETED, {"answer": "**hi**"}, 0.0)])
    answer = next(o for o in done if o.payload.get("op") == "post")
    assert answer.target == target and answer.payload["text"] == "**hi**"


@dataclass
class Scheduled:
    bed: TeamsTestbed
    owner: Principal

    @property
    def store(self) -> ContextStore:
        return self.bed.store

    async def conversation(self, kind: str) -> str:
        """The bot is added to a channel or a personal chat: Teams sends a conversationUpdate, and
        its conversation reference is stored. Returns the stored key."""
        body = activity(self.bed.connector, kind=kind, mention=False) | {"type": "conversationUpdate"}
        assert (await self.bed.post(body)).status_code == 200
        return f"{CHANNEL};messageid={body['id']}" if kind == "channel" else PERSONAL

    async def schedule(self, target: dict[str, Any], surface: str = "teams") -> Schedule:
        return await schedule_digest(
            self.bed.engine.runtime, self.bed.store, self.owner, {"surface": surface, **target}
        )

    async def fire(self, schedule: Schedule) -> Run:
        """Fire, as the scheduler does when it is due, and wait for the digest run to finish."""
        return await fire(self.bed.engine.runtime, self.bed.store, self.owner, schedule)

    async def deliver(self, check: Any) -> None:
        await self.bed.channel.dispatcher.start()
        await self.bed.settle(check)


@asynccontextmanager
async def scheduled(database_url: str, connector: FakeTeamsConnector) -> AsyncIterator[Scheduled]:
    settings = settings_for(connector, deliver=False)  # the test starts delivery itself
    async with teams_service(database_url, connector, FunctionModel(digest), settings) as bed:
        people = bed.channel.people
        owner = await people.principal(await people.tenant(AAD_TENANT), ALICE["aadObjectId"], ALICE["name"])
        yield Scheduled(bed, owner)


async def test_a_digest_is_a_new_post_in_a_stored_channel_conversation_once(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector
) -> None:
    async with scheduled(database_url, connector) as s:
        stored = await s.conversation("channel")
        schedule = await s.schedule({"conversation": stored})
        run = await s.fire(schedule)
        [fire] = await s.store.schedules.fires(TENANT, schedule.id)
        assert run.thread_key == f"{stored}|~{schedule.id}.{int(fire.fire_at)}"

        # The same fire again (a scheduler retaking it after a crash) finds the same run.
        await DigestHandler(s.bed.engine.runtime, s.bed.store, THREAD_KEYS, {}).fire(
            schedule, datetime.fromtimestamp(fire.fire_at, UTC)
        )
        assert [r.id for r in await s.store.runs.find(TENANT)] == [run.id]
        await s.deliver(lambda: bool(connector.conversation(CHANNEL)))

    [post] = connector.conversation(CHANNEL)  # the channel itself: a new post, once
    assert post.reply_to is None and post.edits == 0
    assert post.text == DIGEST and post.activity["textFormat"] == "markdown"
    assert post.activity["conversation"]["id"] == CHANNEL
    assert connector.conversation(stored) == []  # not a reply in the thread it was stored from
    assert connector.typing(CHANNEL) == 0 and connector.typing(stored) == 0


async def test_a_digest_reaches_a_stored_personal_chat(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector
) -> None:
    async with scheduled(database_url, connector) as s:
        schedule = await s.schedule({"conversation": await s.conversation("personal")})
        await s.fire(schedule)
        await s.deliver(lambda: bool(connector.conversation(PERSONAL)))
    [post] = connector.conversation(PERSONAL)
    assert post.text == DIGEST and post.reply_to is None


@pytest.mark.parametrize("status", [403, 404])
async def test_a_gone_conversation_disables_the_schedule(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector, status: int
) -> None:
    async with scheduled(database_url, connector) as s:
        schedule = await s.schedule({"conversation": await s.conversation("channel")})
        await s.fire(schedule)
        connector.fail("send", times=1, status=status, retry_after=None)

        async def disabled() -> bool:
            return not (await s.store.schedules.get(TENANT, schedule.id)).enabled

        await s.bed.channel.dispatcher.start()
        await poll(disabled)
        found = await s.store.schedules.get(TENANT, schedule.id)
        assert found.disabled_reason is not None
        assert found.disabled_reason.startswith(f"teams target gone: HTTP {status}")
        audit = [e for e in await s.store.audit.query(TENANT) if e.action == "schedule.disabled"]
        assert [e.detail["schedule_id"] for e in audit] == [schedule.id]
    assert connector.conversation(CHANNEL) == []
    assert [c.status for c in connector.calls("send")] == [status]  # given up on, not retried


async def test_teams_targets_are_checked_when_the_schedule_is_created(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector
) -> None:
    async with scheduled(database_url, connector) as s:
        stored = await s.conversation("personal")
        with pytest.raises(NotFound, match="no Teams conversation 'a:1never"):  # an unknown item
            await s.schedule({"conversation": "a:1never-talked-to-the-bot"})
        for target, reason in [
            ({"channel": CHANNEL}, "a Teams target is"),
            ({"conversation": stored, "user": "29:alice"}, "not both"),
            ({"conversation": "x" * 260}, "at most 240 characters"),
        ]:
            with pytest.raises(InvalidInput, match=reason):
                await s.schedule(target)
        with pytest.raises(InvalidInput, match="a slack target names a channel or a user"):
            await s.schedule({"conversation": stored}, surface="slack")
        assert await s.store.schedules.find(TENANT) == []
        created = await s.schedule({"conversation": f"  {stored} "})
        assert created.target == {"surface": "teams", "conversation": stored}
