"""The app `switchboard serve` runs (service/cli/serve.py binds its port and runs it): one Starlette
app that owns the service's lifetime and mounts the surfaces."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from channels.api.app import build_api
from channels.api.errors import EXCEPTION_HANDLERS
from channels.api.shedding import SheddingMiddleware
from channels.web import web_routes
from core.settings import Settings
from core.store.sessions import SessionHistoryStore
from knowledge.desk import KnowledgeDesk
from service import scale, scheduling, surfaces
from service.composition import build_service
from service.demo import DEMO_TENANT, ensure_demo_alerts, ensure_demo_tenant
from service.metrics import metrics_route

log = logging.getLogger("switchboard")


def create_app(settings: Settings) -> Starlette:
    # The surfaces need the service, which exists only inside the lifespan: mount them then.
    fixed = web_routes()  # the page at / and /static/; the API takes every other path

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = await build_service(settings)
        api = build_api(
            svc.runtime,
            max_body_bytes=settings.api.max_body_bytes,
            alerts=svc.alert_desk(),
            schedules=scheduling.schedule_book(
                svc.store, svc.runtime.bots, sync_roots=settings.knowledge.sync_roots
            ),
            sessions=SessionHistoryStore(svc.store.db),
            knowledge=KnowledgeDesk(svc.knowledge) if svc.knowledge is not None else None,
            max_upload_bytes=settings.knowledge.max_file_bytes,
        )
        # The configured chat surfaces' webhooks: POST /slack/events, POST /api/messages.
        hooks = [route for channel in svc.channels.values() for route in channel.routes()]
        hooks += surfaces.setup_routes(settings)  # Slack's URL check, before its secrets are set
        # A Mount built around the API app, so `url_for` finds its routes (run links use it).
        shed = Middleware(SheddingMiddleware, turns=scale.turns(settings))  # 429 rather than seconds
        app.router.routes[:] = [*fixed, *hooks, metrics_route(svc), Mount("", app=api, middleware=[shed])]
        # With a broker, the workers sweep; the scheduler runs here unless it has its own process.
        await svc.start(sweep=not settings.broker_url, schedule=settings.scheduler.embedded, listen=True)
        if svc.offline:
            keys = await ensure_demo_tenant(svc.store)
            if svc.knowledge is not None and settings.knowledge.demo_docs:
                await svc.knowledge.ensure_demo_docs(DEMO_TENANT, "demo-admin")  # the docs, searchable
            if "ops" in svc.runtime.bots:
                check = await ensure_demo_alerts(svc.store, settings.anomaly.demo_channel)
                if settings.scheduler.embedded and svc.scheduler is not None:
                    await svc.scheduler.fire_now(check)  # its alert is there now, not a minute later
            log.warning(
                "No model configured (OPENAI_BASE_URL / SWITCHBOARD_MODEL__BASE_URL): using the OFFLINE DEMO "
                "model. Demo API keys: customer %s, admin %s",
                keys.customer,
                keys.admin,
            )
        app.state.service = svc
        try:
            yield
        finally:
            await svc.stop()

    # The API's error shape for what no route takes too: a path the API's Mount cannot match (its
    # pattern stops at a newline, so `/v1/runs/%0Arun` never reaches it), a missing asset.
    return Starlette(routes=list(fixed), lifespan=lifespan, exception_handlers=EXCEPTION_HANDLERS)
