"""Reading what a client sent: a size-bounded JSON body, and pydantic validation that fails as
`invalid_input` with a message a person can act on.

Every body and every query goes through here, so here the text policy (core/text.py) holds for
all of them: no string in a body may hold NUL or a lone surrogate, no number may be NaN or
infinite, and no query value may hold a control character. Models narrow it per field
(`Identifier`, `FreeText` in schemas.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from channels.http import read_body
from core.errors import InvalidInput, MisuseError
from core.text import check_identifier, check_text

M = TypeVar("M", bound=BaseModel)


async def read_json(request: Request, model: type[M], limit: int) -> M:
    raw = await read_body(request, limit)
    try:
        data = json.loads(raw, parse_constant=_no_constant)
        check_strings(data, "body")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MisuseError(f"the request body is not valid JSON: {exc}", code="malformed_json") from None
    except RecursionError:
        raise MisuseError("the request body is nested too deeply", code="malformed_json") from None
    return validate(model, data, where="body")


def _no_constant(name: str) -> float:
    # Python's json accepts NaN and Infinity; JSON does not, and neither does PostgreSQL's json.
    raise InvalidInput(f"body: {name} is not a number; send a finite one")


def check_strings(data: Any, where: str) -> None:
    """Refuse a body whose strings (keys or values, at any depth) cannot be stored."""
    if isinstance(data, str):
        check_text(data, where)
    elif isinstance(data, dict):
        for key, value in data.items():
            check_text(key, f"a key in {where}")
            check_strings(value, f"{where}.{key}")
    elif isinstance(data, list):
        for i, item in enumerate(data):
            check_strings(item, f"{where}[{i}]")


def validate(model: type[M], data: Any, *, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(describe(exc, where)) from None


def validate_query(model: type[M], params: Mapping[str, str]) -> M:
    """A query's parameters: one the route does not take is refused (a typo such as `?statsu=`
    would otherwise be dropped without a word), as is a value holding a control character."""
    unknown = sorted(k for k in params if k not in model.model_fields)
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        takes = ", ".join(model.model_fields)
        raise InvalidInput(f"query: unknown parameter {names}; this route takes {takes}")
    known = {k: check_identifier(v, f"query.{k}") for k, v in params.items()}
    return validate(model, known, where="query")


def describe(exc: ValidationError, where: str) -> str:
    """`body.message: Field required; body.bot: Input should be a valid string`."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(p) for p in (where, *err["loc"]))
        parts.append(f"{location}: {err['msg']}")
    return "; ".join(parts)
