"""Errors become JSON at this boundary: `{"error": {"code": ..., "message": ...}}`, one status per code.

Core raises its own tree (`core.errors`); the API adds a few codes of its own on `MisuseError`
(`malformed_json`, `payload_too_large`). Starlette's routing errors (unknown route, wrong method)
and anything unexpected are rendered the same way; no stack trace ever reaches a client, and
neither do a database driver's messages.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from channels.api.schemas import ErrorBody, ErrorDetail
from core.errors import (
    Busy,
    Conflict,
    Forbidden,
    InvalidInput,
    MisuseError,
    NotFound,
    StoreUnavailable,
    SwitchboardError,
    Unauthorized,
)

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
WWW_AUTHENTICATE = 'Bearer realm="switchboard"'

# Codes whose status is not the one of their class.
_STATUS_BY_CODE = {"idempotency_conflict": 409, "malformed_json": 400, "payload_too_large": 413}
_STATUS_BY_CLASS: list[tuple[type[SwitchboardError], int]] = [
    (Busy, 429),
    (NotFound, 404),
    (Unauthorized, 401),
    (Forbidden, 403),
    (InvalidInput, 422),
    (Conflict, 409),
    (MisuseError, 422),  # UnknownBot and plain bad_request
    (StoreUnavailable, 503),
]
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def status_for(exc: SwitchboardError) -> int:
    if isinstance(exc, MisuseError) and exc.code in _STATUS_BY_CODE:
        return _STATUS_BY_CODE[exc.code]
    for cls, status in _STATUS_BY_CLASS:
        if isinstance(exc, cls):
            return status
    return 500


def public_error(exc: SwitchboardError) -> tuple[int, ErrorDetail]:
    """The status and the error a client may see: misuse errors speak for themselves, the rest
    are replaced by a stable code and a generic message (the details go to the log)."""
    status = status_for(exc)
    if status == 503:
        return status, ErrorDetail(
            code="store_unavailable", message="the store is unavailable; try again shortly"
        )
    if status == 500:
        return status, ErrorDetail(code="internal", message="internal error")
    return status, ErrorDetail(code=exc.code, message=exc.message)


def error_response(status: int, error: ErrorDetail, headers: dict[str, str] | None = None) -> Response:
    return json_response(ErrorBody(error=error), status, headers)


def json_response(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None, *, exclude_none: bool = False
) -> Response:
    body = model.model_dump_json(exclude_none=exclude_none)
    return Response(body, status, headers=headers, media_type="application/json")


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
