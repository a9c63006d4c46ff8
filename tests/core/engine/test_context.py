"""Dynamic context: the model is told the surface's profile, the asking user, the time and the
channel, once per run, in a recorded `ContextAssembled` event, and the very same words reach
every model call of the run. Checked on the requests the scripted model server received over
HTTP, for each chat surface's real profile and the API's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bots.support import bot as support_bot
from channels import discord, slack, teams
from core.bots import BotRegistry
from core.engine.context import MARKDOWN_PROFILE, ContextAssembler, ResponseProfile
from core.engine.notifier import RunNotifier
from core.engine.worker import StepWorker, WorkerOptions
from core.events import EventType
from core.lifecycle import FINAL, RunStatus
from core.model.gateway import OpenAIGateway
from core.queue.inprocess import InProcessQueue
from core.records import Principal, Role, Run, User
from core.runtime import Runtime, Submission
from core.scripted_model import ScriptedModelServer
from core.store.context import ContextStore
from tests.conftest import TenantFixture

NOW = datetime(2026, 3, 14, 9, 26, tzinfo=UTC).timestamp()  # a Saturday; 10:26 in Oslo
PROFILES: dict[str, ResponseProfile] = {
    spec.name: spec.response_profile
    for spec in (slack.SURFACE_SPEC, discord.SURFACE_SPEC, teams.SURFACE_SPEC)
}


class FixedClock:
    def now(self) -> float:
        return NOW


@pytest.fixture
async def runtime(store: ContextStore, demo_model: OpenAIGateway) -> AsyncIterator[Runtime]:
    bots = BotRegistry([support_bot])
    notifier = RunNotifier()
    context = ContextAssembler(store.directory, FixedClock(), PROFILES, time_zone="Europe/Oslo")
    worker = StepWorker(store, bots, demo_model, WorkerOptions(), notifier=notifier, context=context)
    queue = InProcessQueue(worker.advance, 2)
    await queue.start()
    try:
        yield Runtime(store, bots, queue, notifier)
    finally:
        await queue.stop()


async def finish(runtime: Runtime, who: Principal, surface: str, text: str) -> str:
    thread = None if surface == "api" else f"C42:{surface}-thread"
    submitted = await runtime.submit(
        who, Submission(bot="support", text=text, surface=surface, thread_key=thread)
    )
    assert submitted.run is not None
    run_id = submitted.run.id
    async with asyncio.timeout(15):
        while (await runtime.run(who, run_id)).status not in FINAL:
            await asyncio.sleep(0.02)
    return run_id


def system_context(request: dict[str, Any]) -> str:
    """The context message: the system message after the bot's instructions."""
    systems = [m["content"] for m in request["messages"] if m["role"] == "system"]
    assert len(systems) == 2, systems
    context: str = systems[1]
    return context


@pytest.mark.parametrize("surface", ["slack", "discord", "teams", "api"])
async def test_the_model_is_told_the_surface_the_user_and_the_time_once_per_run(
    runtime: Runtime, tenant: TenantFixture, demo_server: ScriptedModelServer, surface: str
) -> None:
    profile = PROFILES.get(surface, MARKDOWN_PROFILE)
    run_id = await finish(
        runtime, tenant.member, surface, "where is order 42?"
    )  # a tool call, then the answer

    requests = demo_server.requests()
    assert len(requests) == 2  # lookup_order, then the answer
    told = system_context(requests[0])
    assert system_context(requests[1]) == told, "every call of the run hears the same context"
    assert f"Surface: {surface}. Write in {profile.markup}." in told
    assert f"under {profile.max_chars} characters" in told and profile.tables in told
    assert "Asking: alice (role: member)." in told
    assert "Saturday 14 March 2026, 10:26 (Europe/Oslo" in told
    if surface != "api":
        assert f"C42:{surface}-thread" in told

    events = await runtime.events(tenant.member, run_id, 0)
    recorded = [e for e in events if e.type == EventType.CONTEXT_ASSEMBLED]
    assert len(recorded) == 1, "assembled once per run"
    payload = recorded[0].payload
    assert payload["text"] == told  # the inspector shows exactly what the model was told
    assert payload["user_name"] == "alice" and payload["role"] == "member" and payload["surface"] == surface
    assert payload["profile"]["max_chars"] == profile.max_chars
    assert payload["now"] == "2026-03-14T10:26:00+01:00" and payload["time_zone"] == "Europe/Oslo"
    order = [e.type for e in events]
    assert order.index(EventType.CONTEXT_ASSEMBLED) < order.index(EventType.MODEL_CALLED)


async def test_an_admin_is_named_as_one_and_the_surfaces_differ(
    runtime: Runtime, tenant: TenantFixture, demo_server: ScriptedModelServer
) -> None:
    await finish(runtime, tenant.admin, "discord", "hello")
    await finish(runtime, tenant.admin, "slack", "hello")
    discord_told, slack_told = (system_context(r) for r in demo_server.requests())
    assert "Asking: root (role: admin)." in discord_told
    assert "Slack mrkdwn" in slack_told and "Slack mrkdwn" not in discord_told
    assert "2000 characters" in discord_told and "3000 characters" in slack_told


class _Directory:
    """A directory that answers from a dict and counts its reads."""

    def __init__(self) -> None:
        self.users = {("t1", "u1"): User("u1", "t1", "Ada", Role.MEMBER)}
        self.reads = 0

    async def get_user(self, tenant_id: str, user_id: str) -> User:
        self.reads += 1
        return self.users[(tenant_id, user_id)]


class _Clock:
    def __init__(self) -> None:
        self.t = NOW

    def now(self) -> float:
        return self.t


def _run(user_id: str = "u1") -> Run:
    return Run(
        "run_1", "t1", "ses_1", user_id, "msg_1", "support", "api", "k", RunStatus.RUNNING,
        0, 1, 1, 1, 0, 0, 0.0, None, None, None, NOW, NOW,
    )  # fmt: skip


async def test_the_asking_user_is_read_once_a_minute_and_a_rename_shows_after_it() -> None:
    directory, clock = _Directory(), _Clock()
    context = ContextAssembler(directory, clock)
    first = await context.assemble(_run())
    directory.users[("t1", "u1")] = User("u1", "t1", "Ada L.", Role.ADMIN)
    again = await context.assemble(_run())
    assert (first.user_name, again.user_name, directory.reads) == ("Ada", "Ada", 1)
    clock.t += 61
    later = await context.assemble(_run())
    assert (later.user_name, later.role, directory.reads) == ("Ada L.", "admin", 2)
