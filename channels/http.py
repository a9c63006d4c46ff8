"""What every HTTP surface shares (the API, Slack's events endpoint, Teams' messaging endpoint):
reading a size-bounded body, and the error shape `{"error": {"code": ..., "message": ...}}` with
one status per code. The surfaces stay independent of one another by sharing this, not each other.
"""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

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


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


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


def too_large(limit: int) -> MisuseError:
    return MisuseError(f"the request body is larger than {limit} bytes", code="payload_too_large")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit`: by its declared
    Content-Length, or by the bytes actually received (a chunked body declares none)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise too_large(limit)
    return bytes(received)
