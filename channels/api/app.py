"""`build_api`: the REST surface as a Starlette app. No lifespan: the server that mounts it owns
startup and shutdown of the runtime."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.api.errors import EXCEPTION_HANDLERS
from channels.api.health import HealthEndpoint
from channels.api.openapi import openapi_document
from channels.api.paths import PathGuard
from channels.api.routes_alerts import AlertEndpoints
from channels.api.routes_bots import BotEndpoints
from channels.api.routes_decisions import DecisionEndpoints
from channels.api.routes_knowledge import KnowledgeDesk, KnowledgeEndpoints
from channels.api.routes_messages import MessageEndpoints
from channels.api.routes_runs import RunEndpoints
from channels.api.routes_schedules import ScheduleEndpoints
from channels.api.routes_sessions import SessionEndpoints
from channels.api.sse import StreamOptions
from core.alerts.desk import AlertDesk
from core.ports import SessionHistory
from core.runtime import Runtime
from core.schedules import ScheduleBook


def build_api(
    runtime: Runtime,
    *,
    alerts: AlertDesk,
    schedules: ScheduleBook,
    sessions: SessionHistory,
    max_body_bytes: int = 65536,
    stream: StreamOptions | None = None,
    knowledge: KnowledgeDesk | None = None,
    max_upload_bytes: int = 50 * 1024 * 1024,
) -> Starlette:
    """`alerts`: the composition root's alert desk, over the service's alert store whose notice
    renderers edit an alert's card when it is acted on here. `schedules`: the root's schedule book
    (with the surfaces' target rules). `sessions`: the callers' own conversations and who they are."""
    runs = RunEndpoints(runtime, max_body_bytes=max_body_bytes, stream=stream or StreamOptions())
    decisions = DecisionEndpoints(runtime, max_body_bytes=max_body_bytes)
    health = HealthEndpoint(runtime.ping)
    bots = [b.name for b in runtime.bots]
    document = json.dumps(openapi_document(bots=bots), separators=(",", ":")).encode()

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json")

    routes = [
        *runs.routes(),
        *decisions.routes(),
        *BotEndpoints(runtime).routes(),
        *MessageEndpoints(runtime).routes(),
        *ScheduleEndpoints(runtime, schedules, max_body_bytes=max_body_bytes).routes(),
        *AlertEndpoints(runtime, alerts, max_body_bytes=max_body_bytes).routes(),
        *SessionEndpoints(runtime, sessions).routes(),
        *(
            KnowledgeEndpoints(
                runtime, knowledge, max_body_bytes=max_body_bytes, max_upload_bytes=max_upload_bytes
            ).routes()
            if knowledge is not None
            else []
        ),
        Route("/healthz", health.check, methods=["GET"], name="healthz"),
        Route("/openapi.json", openapi, methods=["GET"], name="openapi"),
    ]
    # Every path parameter is checked once, before routing (channels/api/paths.py).
    return Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS, middleware=[Middleware(PathGuard)])
