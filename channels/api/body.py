"""Reading what a client sent: a size-bounded JSON body, and pydantic validation that fails as
`invalid_input` with a message a person can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from core.errors import InvalidInput, MisuseError

M = TypeVar("M", bound=BaseModel)


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


async def read_json(request: Request, model: type[M], limit: int) -> M:
    raw = await read_body(request, limit)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MisuseError(f"the request body is not valid JSON: {exc}", code="malformed_json") from None
    except RecursionError:
        raise MisuseError("the request body is nested too deeply", code="malformed_json") from None
    return validate(model, data, where="body")


def validate(model: type[M], data: Any, *, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(describe(exc, where)) from None


def validate_query(model: type[M], params: Mapping[str, str]) -> M:
    known = {k: v for k, v in params.items() if k in model.model_fields}
    return validate(model, known, where="query")


def describe(exc: ValidationError, where: str) -> str:
    """`body.message: Field required; body.bot: Input should be a valid string`."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(p) for p in (where, *err["loc"]))
        parts.append(f"{location}: {err['msg']}")
    return "; ".join(parts)
