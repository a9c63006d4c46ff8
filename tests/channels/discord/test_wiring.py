"""`switchboard serve` with Discord configured: the composition root renders Discord runs into the
outbox, logs in, listens on the gateway and delivers. Other processes deliver without listening."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from pydantic import SecretStr
from starlette.testclient import TestClient

from core.settings import DiscordSettings, Settings
from service.composition import build_service
from service.server import create_app
from tests.channels.discord.conftest import ALICE, TOKEN
from tests.fakes.discord_api import FakeDiscord


def settings_for(tmp_path: Path, fake: FakeDiscord) -> Settings:
    discord = DiscordSettings(
        token=SecretStr(TOKEN), api_base_url=fake.api_base_url, gateway_url=fake.gateway_url
    )
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/serve.db", discord=discord)


def wait_for(check: object, timeout: float = 15.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the Discord stand-in never saw what the test waited for")
        time.sleep(0.02)


def test_serve_answers_a_mention_in_discord(tmp_path: Path, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    with TestClient(create_app(settings_for(tmp_path, fake))):
        wait_for(lambda: fake.connected == 1)
        root = fake.say(ALICE, "where is order 42?")
        wait_for(lambda: any("Order 42" in m.content for m in fake.messages(root)))
    status, answer = fake.messages(root)
    assert answer.content.startswith("Order 42 (headphones) is shipped")
    wait_for(lambda: fake.connected == 0)  # serve's shutdown closed the gateway


async def test_a_process_that_does_not_listen_only_delivers(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    svc = await build_service(settings_for(tmp_path, fake_discord))
    try:
        await svc.start(sweep=False)
        assert svc.discord is not None
        deadline = time.monotonic() + 10
        while svc.discord.active:  # logging in, and then nothing more: it does not listen
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert svc.discord.client.user is not None  # logged in for REST …
        assert fake_discord.identified == 0 and fake_discord.connected == 0  # … but not on the gateway
    finally:
        await svc.stop()


async def test_without_a_token_there_is_no_discord_channel(tmp_path: Path) -> None:
    svc = await build_service(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/serve.db"))
    try:
        assert svc.discord is None
    finally:
        await svc.stop()


async def test_a_refused_token_leaves_the_channel_down_without_crashing(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    settings = settings_for(tmp_path, fake_discord)
    settings.discord.token = SecretStr("not-the-token")
    svc = await build_service(settings)
    try:
        await svc.start(sweep=False, listen=True)
        assert svc.discord is not None
        deadline = time.monotonic() + 10
        while svc.discord.active:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert svc.discord.client.user is None and fake_discord.identified == 0
        assert [c.status for c in fake_discord.calls("me")] == [401]
    finally:
        await svc.stop()
