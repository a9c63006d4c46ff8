"""The Discord surface wired on a real store and engine, its real discord.py client talking to a
local stand-in of Discord's REST API and gateway."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from channels.discord import DiscordChannel, discord_renderer, endpoints
from channels.discord.alerts import DiscordNoticeRenderer
from core.model.port import ModelClient
from core.settings import DiscordSettings
from core.store.context import ContextStore
from service.composition import alert_desk, surface_ports
from tests.channels.testbed import FAST_DISPATCH, FAST_SINK, echo, settle
from tests.core.engine.harness import Engine, engine
from tests.fakes.discord_api import ADMIN_ROLE, GUILD_ID, FakeDiscord, Person
from tests.fakes.models import FunctionModel

TOKEN = "test-discord-token"
TENANT = f"discord-{GUILD_ID}"
ALICE = Person("700000000000000001")
BOB = Person("700000000000000002")
ADMIN = Person("700000000000000003", roles=[ADMIN_ROLE])  # an admin by role, not by id


def settings_for(fake: FakeDiscord, **extra: Any) -> DiscordSettings:
    values: dict[str, Any] = {
        "token": TOKEN,
        "api_base_url": fake.api_base_url,
        "gateway_url": fake.gateway_url,
        "admin_role": ADMIN_ROLE,
        **extra,
    }
    return DiscordSettings(**values)


@dataclass
class DiscordTestbed:
    fake: FakeDiscord
    store: ContextStore
    engine: Engine
    channel: DiscordChannel

    async def settle(self, check: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait until the engine is idle and the stand-in shows what `check` wants."""
        await settle(self.engine, check, "Discord", timeout)


async def connected(
    channel: DiscordChannel, fake: FakeDiscord, sessions: int = 1, timeout: float = 10.0
) -> None:
    """Until the client is logged in, identified, and has the guild (with its roles) cached."""
    deadline = time.monotonic() + timeout
    while not (
        channel.client.user is not None
        and fake.connected == sessions
        and channel.client.get_guild(int(GUILD_ID)) is not None
    ):
        if time.monotonic() > deadline:
            raise TimeoutError("the Discord client never connected to the stand-in")
        await asyncio.sleep(0.02)


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    with FakeDiscord(TOKEN) as fake:
        yield fake
    endpoints.reset()


@asynccontextmanager
async def discord_service(
    database_url: str, fake: FakeDiscord, model: ModelClient, settings: DiscordSettings | None = None
) -> AsyncIterator[DiscordTestbed]:
    """A Discord-enabled service on `database_url`: store with the Discord renderer, engine,
    gateway client and dispatcher. Two testbeds on one database are a restarted service."""
    settings = settings or settings_for(fake)
    store = ContextStore.open(database_url, renderers={"discord": discord_renderer()})
    try:
        async with engine(store, model) as eng:
            alerts = alert_desk(eng.runtime, store, "discord", DiscordNoticeRenderer())
            channel = DiscordChannel(
                settings, eng.runtime, surface_ports(store), alerts, dispatch=FAST_DISPATCH, sink=FAST_SINK
            )
            await channel.start()
            try:
                await connected(channel, fake)
                yield DiscordTestbed(fake, store, eng, channel)
            finally:
                await channel.stop()
                await disconnected(fake)
    finally:
        await store.close()


async def disconnected(fake: FakeDiscord, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while fake.connected:
        if time.monotonic() > deadline:
            raise TimeoutError("the Discord client never disconnected")
        await asyncio.sleep(0.02)


@pytest.fixture
async def bed(
    database_url: str, store: ContextStore, fake_discord: FakeDiscord
) -> AsyncIterator[DiscordTestbed]:
    # `store` migrates (SQLite) or truncates (PostgreSQL) the database this testbed opens.
    async with discord_service(database_url, fake_discord, FunctionModel(echo)) as b:
        yield b
