"""`GET /metrics`: the service's Prometheus metrics, with the database's gauges read at scrape time.

Unauthenticated, like most Prometheus endpoints: expose it only where the scraper can reach it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.metrics import CONTENT_TYPE, Sources, scrape
from service.composition import Service


def metrics_route(svc: Service) -> Route:
    sources = Sources(svc.store.runs.count_by_status, svc.store.outbox.backlog, svc.queue.depth)

    async def endpoint(request: Request) -> Response:
        return Response(await scrape(sources), media_type=CONTENT_TYPE)

    return Route("/metrics", endpoint, methods=["GET"], name="metrics")
