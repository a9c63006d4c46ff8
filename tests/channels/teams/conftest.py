"""The Teams surface wired on a real store and engine, receiving Bot Framework activity JSON
signed by a local stand-in of the Bot Framework, and sending through its connector API."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from channels.teams import TeamsChannel, teams_renderer
from channels.teams.alerts import TeamsNoticeRenderer
from channels.teams.identity import tenant_id_for
from core.model.port import ModelClient
from core.settings import TeamsSettings
from core.store.context import ContextStore
from service.composition import alert_desk, surface_ports
from tests.channels.testbed import FAST_DISPATCH, FAST_SINK, echo, settle
from tests.core.engine.harness import Engine, engine
from tests.fakes.models import FunctionModel
from tests.fakes.teams_connector import APP_ID, APP_PASSWORD, FakeTeamsConnector

AAD_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TENANT = tenant_id_for(AAD_TENANT)
BOT = {"id": f"28:{APP_ID}", "name": "Switchboard"}
ALICE = {"id": "29:alice", "name": "Alice Doe", "aadObjectId": "a11ce000-0000-0000-0000-00000000a11c"}
BOB = {"id": "29:bob", "name": "Bob Roe", "aadObjectId": "b0b00000-0000-0000-0000-000000000b0b"}
ADMIN = {"id": "29:ada", "name": "Ada Admin", "aadObjectId": "ad000000-0000-0000-0000-0000000000ad"}
CHANNEL = "19:general0123456789@thread.tacv2"
PERSONAL = "a:1personal-chat-with-alice"
GROUP = "19:groupchat0123@thread.v2"
_ids = itertools.count(1)


def settings_for(connector: FakeTeamsConnector, **extra: Any) -> TeamsSettings:
    values: dict[str, Any] = {
        "app_id": APP_ID,
        "app_password": SecretStr(APP_PASSWORD),
        "openid_metadata_url": connector.openid_url,
        "token_endpoint": connector.token_url,
        "admins": [ADMIN["aadObjectId"]],
        **extra,
    }
    return TeamsSettings(**values)


def activity(
    connector: FakeTeamsConnector,
    text: str = "",
    *,
    kind: str = "channel",
    conversation: str | None = None,
    sender: dict[str, str] = ALICE,
    mention: bool = True,
    activity_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A message activity as Teams posts it: in a channel (a new thread unless `conversation`
    names one), a personal chat or a group chat; `mention` @mentions the bot."""
    activity_id = activity_id or f"18000{next(_ids):08d}"
    if conversation is None:
        conversation = {
            "channel": f"{CHANNEL};messageid={activity_id}",
            "personal": PERSONAL,
            "groupChat": GROUP,
        }[kind]
    channel_data: dict[str, Any] = {"tenant": {"id": AAD_TENANT}}
    if kind == "channel":
        channel_data |= {"teamsChannelId": CHANNEL, "channel": {"id": CHANNEL}, "team": {"id": "19:team"}}
    body: dict[str, Any] = {
        "type": "message",
        "id": activity_id,
        "timestamp": "2026-11-22T06:00:00.000Z",
        "serviceUrl": connector.service_url,
        "channelId": "msteams",
        "from": sender,
        "conversation": {
            "id": conversation,
            "conversationType": kind,
            "tenantId": AAD_TENANT,
            **({"isGroup": True} if kind != "personal" else {}),
        },
        "recipient": BOT,
        "textFormat": "plain",
        "locale": "en-US",
        "channelData": channel_data,
        "text": f"<at>Switchboard</at> {text}" if mention else text,
        "entities": [{"type": "clientInfo", "locale": "en-US"}],
    }
    if mention:
        body["entities"].append({"type": "mention", "text": "<at>Switchboard</at>", "mentioned": BOT})
    return body | extra


def click(
    connector: FakeTeamsConnector, posted_in: str, sender: dict[str, str], verb: str, data: dict[str, Any]
) -> dict[str, Any]:
    """An `adaptiveCard/action` invoke: someone pressed an Action.Execute button on a card."""
    base = activity(connector, kind="channel", conversation=posted_in, sender=sender, mention=False)
    base.pop("text")
    return base | {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"},
    }


@dataclass
class TeamsTestbed:
    connector: FakeTeamsConnector
    store: ContextStore
    engine: Engine
    channel: TeamsChannel
    http: httpx.AsyncClient

    async def post(
        self, body: dict[str, Any], *, token: str | None = None, anonymous: bool = False
    ) -> httpx.Response:
        """Post an activity the way the Bot Framework does, with a valid token unless told otherwise."""
        headers = {} if anonymous else {"Authorization": f"Bearer {token or self.connector.token()}"}
        return await self.http.post("/api/messages", json=body, headers=headers)

    async def settle(self, check: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait until the engine is idle and the connector shows what `check` wants."""
        await settle(self.engine, check, "Teams", timeout)


@pytest.fixture
def connector() -> Iterator[FakeTeamsConnector]:
    with FakeTeamsConnector() as fake:
        yield fake


@asynccontextmanager
async def teams_service(
    database_url: str,
    connector: FakeTeamsConnector,
    model: ModelClient,
    settings: TeamsSettings | None = None,
) -> AsyncIterator[TeamsTestbed]:
    """A Teams-enabled service on `database_url`: store with the Teams renderer, engine,
    messaging endpoint and dispatcher. Two testbeds on one database are a restarted service."""
    settings = settings or settings_for(connector)
    store = ContextStore.open(database_url, renderers={"teams": teams_renderer(settings)})
    try:
        async with engine(store, model) as eng:
            alerts = alert_desk(eng.runtime, store, "teams", TeamsNoticeRenderer())
            ports = surface_ports(store)
            channel = TeamsChannel(
                settings,
                eng.runtime,
                ports,
                alerts,
                store.conversations,
                dispatch=FAST_DISPATCH,
                sink=FAST_SINK,
            )
            await channel.start()
            transport = httpx.ASGITransport(app=Starlette(routes=channel.routes()))
            try:
                async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as http:
                    yield TeamsTestbed(connector, store, eng, channel, http)
            finally:
                await channel.stop()
    finally:
        await store.close()


@pytest.fixture
async def bed(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector
) -> AsyncIterator[TeamsTestbed]:
    # `store` migrates (SQLite) or truncates (PostgreSQL) the database this testbed opens.
    async with teams_service(database_url, connector, FunctionModel(echo)) as b:
        yield b
