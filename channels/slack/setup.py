"""`POST /slack/events` before Slack is configured: only Slack's URL check is answered.

Slack checks an app's request URL when the app is created from the manifest, before its
signing secret and bot token exist, so they cannot be set yet. This route answers that one
request, `{"type": "url_verification", "challenge": …}`, by echoing the challenge, which
reveals nothing; with no secret nothing can be checked, so everything else is refused (404,
saying which settings are missing) before it is parsed any further. The body is capped, and the
challenge must look like Slack's (printable ASCII, bounded). Once both secrets are set, the
configured channel (`channel.py`) takes the route and answers the check only when it is signed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from channels.http import error_response, public_error, read_body
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
    return [Mount("/slack", app=Starlette(routes=[Route("/events", url_verification, methods=["POST"])]))]
