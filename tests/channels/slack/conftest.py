"""The Slack surface wired on a real store and engine, talking to a local stand-in of the Slack
Web API, and receiving requests signed the way Slack signs them."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from channels.slack import SlackChannel, slack_renderer
from channels.slack.alerts import SlackNoticeRenderer
from core.model.port import ModelClient
from core.settings import SlackSettings
from core.store.context import ContextStore
from service.composition import alert_desk, surface_ports
from tests.channels.testbed import FAST_DISPATCH, FAST_SINK, echo, settle
from tests.core.engine.harness import Engine, engine
from tests.fakes.models import FunctionModel
from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID, FakeSlackApi, sign

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
ADMIN = "UADMIN"
_event_ids = itertools.count(1)


def settings_for(api: FakeSlackApi, **extra: Any) -> SlackSettings:
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "signing_secret": SECRET,
        "api_base_url": api.base_url,
        "admins": [ADMIN],
        **extra,
    }
    return SlackSettings(**values)


@dataclass
class SlackTestbed:
    api: FakeSlackApi
    store: ContextStore
    engine: Engine
    channel: SlackChannel
    http: httpx.AsyncClient

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        """`headers` replaces the signature (to forge one); `extra` adds headers (Slack's retry ones)."""
        signed = sign(SECRET, body) if headers is None else headers
        return await self.http.post(
            "/slack/events", content=body, headers={"Content-Type": content_type, **signed, **(extra or {})}
        )

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
        team: str = TEAM_ID,
    ) -> httpx.Response:
        """Deliver an Events API callback, as Slack does."""
        envelope = {
            "token": "legacy",
            "team_id": team,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_event_ids):06d}",
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [
                {
                    "team_id": team,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                    "enterprise_id": None,
                }
            ],
        }
        return await self.post(
            json.dumps(envelope).encode(), "application/json", headers=headers, extra=extra
        )

    async def click(
        self, user: str, action_id: str, value: str, message: dict[str, Any], team: str = TEAM_ID
    ) -> httpx.Response:
        """A button click, as the interactivity payload Slack posts."""
        payload = {
            "type": "block_actions",
            "user": {"id": user, "team_id": team},
            "team": {"id": team},
            "api_app_id": "A1",
            "trigger_id": f"trig.{next(_event_ids)}",
            "is_enterprise_install": False,
            "channel": {"id": message["channel"]},
            "container": {
                "type": "message",
                "channel_id": message["channel"],
                "message_ts": message["ts"],
                "thread_ts": message.get("thread_ts"),
            },
            "message": {"ts": message["ts"], "thread_ts": message.get("thread_ts")},
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b",
                    "type": "button",
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.post(
            urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
        )

    async def submit_view(
        self, user: str, view: dict[str, Any], values: dict[str, str], team: str = TEAM_ID
    ) -> httpx.Response:
        """A modal submitted with these input values (block id = action id = the key)."""
        state = {"values": {k: {k: {"type": "plain_text_input", "value": v}} for k, v in values.items()}}
        payload = {
            "type": "view_submission",
            "team": {"id": team},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A1",
            "is_enterprise_install": False,
            "view": {**view, "id": "V1", "state": state},
        }
        return await self.post(
            urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
        )

    async def settle(self, check: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait until the engine is idle and the Slack stand-in shows what `check` wants."""
        await settle(self.engine, check, "Slack", timeout)


def mention(
    text: str,
    *,
    user: str = "UALICE",
    channel: str = "C100",
    ts: str = "1700000100.000100",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def message(
    text: str,
    *,
    user: str = "UALICE",
    channel: str = "C100",
    ts: str = "1700000200.000100",
    thread_ts: str | None = None,
    channel_type: str = "channel",
    **extra: Any,
) -> dict[str, Any]:
    event = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "channel_type": channel_type,
        "event_ts": ts,
        **extra,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(TOKEN) as api:
        yield api


@asynccontextmanager
async def slack_service(
    database_url: str, api: FakeSlackApi, model: ModelClient, settings: SlackSettings | None = None
) -> AsyncIterator[SlackTestbed]:
    """A Slack-enabled service on `database_url`: store with the Slack renderer, engine, Bolt
    app and dispatcher. Two testbeds on one database are a restarted service."""
    settings = settings or settings_for(api)
    store = ContextStore.open(database_url, renderers={"slack": slack_renderer(settings)})
    try:
        async with engine(store, model) as eng:
            alerts = alert_desk(eng.runtime, store, "slack", SlackNoticeRenderer())
            channel = SlackChannel(
                settings, eng.runtime, surface_ports(store), alerts, dispatch=FAST_DISPATCH, sink=FAST_SINK
            )
            await channel.start()
            app = Starlette(routes=[Mount("/slack", app=channel.asgi())])
            transport = httpx.ASGITransport(app=app)
            try:
                async with httpx.AsyncClient(transport=transport, base_url="http://slack.test") as http:
                    yield SlackTestbed(api, store, eng, channel, http)
            finally:
                await channel.stop()
    finally:
        await store.close()


@pytest.fixture
async def bed(database_url: str, store: ContextStore, slack_api: FakeSlackApi) -> AsyncIterator[SlackTestbed]:
    # `store` migrates (SQLite) or truncates (PostgreSQL) the database this testbed opens.
    async with slack_service(database_url, slack_api, FunctionModel(echo)) as b:
        yield b
