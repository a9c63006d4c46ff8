"""`POST /slack/events` before Slack is configured: only Slack's URL check is answered.

Slack checks an app's request URL when the app is created from the manifest, before its
signing secret and bot token exist, so they cannot be set yet. This route answers that one
request, `{"type": "url_verification", "challenge": …}`, by echoing the challenge, which
reveals nothing; with no secret nothing can be checked, so everything else is refused (404,
saying which settings are missing) before it is parsed any further. The body is capped, and the
challenge must look like Slack's (printable ASCII, bounded). Once both secrets are set, the
configured channel (`channel.py`) takes the route and answers the check only when it is signed.
Both mount `slack_app`, which answers a wrong path or method in the API's error shape as well.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from channels.http import ErrorDetail, error_response, public_error, read_body
from channels.slack.payload import ident, parse
from core.errors import InvalidInput, NotFound, SwitchboardError

log = logging.getLogger(__name__)

# Slack's check is about a hundred bytes; nothing larger is read while no secret is set.
MAX_SETUP_BODY_BYTES = 4 * 1024
NOT_CONFIGURED = (
    "Slack is not configured on this service yet: only Slack's URL verification is answered until "
    "SWITCHBOARD_SLACK__BOT_TOKEN and SWITCHBOARD_SLACK__SIGNING_SECRET are set"
)
_WHERE = {"surface": "slack"}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


async def url_verification(request: Request) -> Response:
    """Slack's `url_verification` challenge, echoed in the JSON Slack expects; nothing else."""
    try:
        raw = await read_body(request, MAX_SETUP_BODY_BYTES)
        _, body = parse(raw, request.headers.get("content-type"))
        if body.get("type") != "url_verification":
            raise NotFound(NOT_CONFIGURED)
        challenge = ident(body, "challenge")
        if challenge is None:
            raise InvalidInput("challenge: not a Slack challenge (printable ASCII, at most 255 characters)")
    except SwitchboardError as exc:
        status, error = public_error(exc)
        log.info("Slack request refused before set-up: %d %s", status, error.code, extra=_WHERE)
        return error_response(status, error)
    log.info("Slack's request URL check answered (Slack is not configured yet)", extra=_WHERE)
    return JSONResponse({"challenge": challenge})


def setup_routes() -> Sequence[BaseRoute]:
    """What `switchboard serve` mounts at `/slack` while Slack's secrets are not set."""
    return [Mount("/slack", app=slack_app(url_verification))]


def slack_app(events: Callable[[Request], Awaitable[Response]]) -> Starlette:
    """The app at `/slack`: `POST /events` (events and interactivity share it); another path or
    method is refused in the API's error shape too."""
    return Starlette(
        routes=[Route("/events", events, methods=["POST"])],
        exception_handlers={HTTPException: _http_error},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "bad_request")
    return error_response(
        exc.status_code, ErrorDetail(code=code, message=exc.detail), dict(exc.headers or {})
    )
