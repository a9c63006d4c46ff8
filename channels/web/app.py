"""`web_routes`: the page at `/`, the API reference at `/docs` and their assets under `/static/`.
No build step: plain HTML, CSS and JavaScript modules, read from the package directory; the
reference is the vendored Swagger UI (static/vendor/swagger-ui, see its README) over
`/openapi.json`, so it needs no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

# The page renders model output; this policy is the second line of defence if an escape is ever
# missed: no inline script, no foreign origin, no plugins, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
# Swagger UI draws its icons as data: images; it still loads nothing from another origin.
DOCS_HEADERS = {**HEADERS, "Content-Security-Policy": CSP.replace("img-src 'self'", "img-src 'self' data:")}


class Assets(StaticFiles):
    """The assets carry no version in their names, so browsers revalidate them on every load."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=HEADERS)


async def docs(request: Request) -> Response:
    return FileResponse(STATIC / "docs.html", headers=DOCS_HEADERS)


def web_routes() -> list[BaseRoute]:
    return [
        Route("/", index, methods=["GET"], name="web_index"),
        Route("/docs", docs, methods=["GET"], name="web_docs"),
        Mount("/static", Assets(directory=STATIC), name="web_static"),
    ]
