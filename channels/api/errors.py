"""Errors become JSON at this boundary: `{"error": {"code": ..., "message": ...}}`, one status per code.

Core raises its own tree (`core.errors`); the API adds a few codes of its own on `MisuseError`
(`malformed_json`, `payload_too_large`). Starlette's routing errors (unknown route, wrong method)
and anything unexpected are rendered the same way; no stack trace ever reaches a client, and
neither do a database driver's messages.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from channels.http import ErrorDetail, error_response, public_error
from channels.http import json_response as json_response  # the routes' import
from core.errors import (
    Busy,
    SwitchboardError,
)

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
WWW_AUTHENTICATE = 'Bearer realm="switchboard"'

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


async def on_switchboard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SwitchboardError)
    status, error = public_error(exc)
    where = {"surface": "api", "path": request.url.path}
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    elif isinstance(exc, Busy):
        headers["Retry-After"] = str(exc.retry_after_s)
    elif status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_S)
        log.warning("store unavailable: %s", exc.message, extra=where)
    elif status == 500:
        log.error("unexpected %s", type(exc).__name__, exc_info=exc, extra=where)
    else:
        log.debug("%s %s -> %d %s", request.method, request.url.path, status, exc.code, extra=where)
    return error_response(status, error, headers)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal")
    return error_response(
        exc.status_code, ErrorDetail(code=code, message=exc.detail), dict(exc.headers or {})
    )


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this response is sent, so the server still logs the traceback.
    return error_response(500, ErrorDetail(code="internal", message="internal error"))


EXCEPTION_HANDLERS = {
    SwitchboardError: on_switchboard_error,
    HTTPException: on_http_error,
    Exception: on_unexpected_error,
}
