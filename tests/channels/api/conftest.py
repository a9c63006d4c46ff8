"""The REST API wired on a real store and engine, with a model that can be held mid-call, API
keys for every kind of caller, and a real HTTP server for the tests that need true streaming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from channels.api import StreamOptions, build_api
from core.alerts.desk import AlertDesk
from core.model.port import DeltaSink, Message, ModelReply, ModelRequest
from core.runtime import Runtime
from core.schedules import ScheduleBook
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from core.store.sessions import SessionHistoryStore
from service.scheduling import schedule_book
from tests.conftest import TenantFixture, make_tenant
from tests.core.engine.harness import Engine, engine
from tests.fakes.models import FunctionModel, Reply, Say

FAST_STREAM = StreamOptions(poll_s=0.2, keepalive_s=15.0)


def greet(messages: list[Message]) -> Reply:
    return Say("hello from support")


@dataclass
class GatedModel:
    """The function model behind a gate: while the gate is shut a run stays in its model call."""

    inner: FunctionModel
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.gate.set()

    async def complete(self, request: ModelRequest, on_delta: DeltaSink | None = None) -> ModelReply:
        await self.gate.wait()
        return await self.inner.complete(request, on_delta)


@dataclass(frozen=True)
class Keys:
    member: str
    other_member: str
    admin: str
    stranger: str  # a member of another tenant


@dataclass
class Api:
    client: httpx.AsyncClient
    app: Starlette
    engine: Engine
    model: GatedModel
    keys: Keys
    tenant: TenantFixture
    store: ContextStore

    async def submit(self, key: str, message: str = "hi", **extra: object) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/runs", json={"bot": "support", "message": message, **extra}, headers=auth(key)
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body


def api_app(
    runtime: Runtime,
    store: ContextStore,
    *,
    schedules: ScheduleBook | None = None,
    max_body_bytes: int = 65536,
    stream: StreamOptions | None = None,
) -> Starlette:
    """The API as the composition root builds it, with the root's pieces made here from `store`:
    alerts without notice renderers, and a bare schedule book unless one is given."""
    alerts = AlertDesk(runtime, AlertStore(store.db, store.clock, {}), store.audit)
    return build_api(
        runtime,
        alerts=alerts,
        schedules=schedules or ScheduleBook(store),
        sessions=SessionHistoryStore(store.db),
        max_body_bytes=max_body_bytes,
        stream=stream,
    )


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def make_keys(store: ContextStore, tenant: TenantFixture) -> Keys:
    other = await make_tenant(store, "globex")
    create = store.directory.create_api_key
    return Keys(
        member=await create(tenant.id, tenant.member.user_id),
        other_member=await create(tenant.id, tenant.other_member.user_id),
        admin=await create(tenant.id, tenant.admin.user_id),
        stranger=await create(other.id, other.member.user_id),
    )


@pytest.fixture
async def api(store: ContextStore, tenant: TenantFixture) -> AsyncIterator[Api]:
    model = GatedModel(FunctionModel(greet))
    keys = await make_keys(store, tenant)
    async with engine(store, model) as e:
        app = api_app(
            e.runtime,
            store,
            max_body_bytes=4096,
            stream=FAST_STREAM,
            schedules=schedule_book(store, e.runtime.bots),
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=10) as client:
            yield Api(client, app, e, model, keys, tenant, store)
        model.gate.set()  # let any held step finish before the engine stops


@asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A real uvicorn server on 127.0.0.1 (httpx's ASGI transport buffers whole responses, so it
    cannot show that a stream streams) and a client for it."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        ws="none",
        http="h11",
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(5):
            while not server.started:
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False
        ) as client:
            yield client
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 5)
