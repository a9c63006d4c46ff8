"""A tool call's arguments: the model's JSON text in, a validated canonical dict out, and its hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from core.errors import ToolArgumentsInvalid
from core.tools.spec import ToolContext, ToolSpec

_MAX_REPORTED_ERRORS = 5


def parse_arguments(spec: ToolSpec, raw: str) -> dict[str, Any]:
    """Validate the model's raw JSON arguments and return them in canonical JSON form, defaults filled in."""
    data = _load_object(spec.name, raw)
    return _validate(spec, data).model_dump(mode="json", by_alias=True)


def bind_arguments(spec: ToolSpec, args: Mapping[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """The keyword arguments to call `spec.fn` with: validated Python objects plus the context."""
    model = _validate(spec, args)
    kwargs = {info.alias or name: getattr(model, name) for name, info in type(model).model_fields.items()}
    if spec.context_param is not None:
        kwargs[spec.context_param] = ctx
    return kwargs


def canonical_json(args: Mapping[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def args_hash(args: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(args).encode("utf-8")).hexdigest()


def _load_object(tool_name: str, raw: str) -> Any:
    # Some models send "" rather than "{}" for a call without arguments.
    text = raw.strip() or "{}"
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        detail = f"{exc.msg} (char {exc.pos})" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ToolArgumentsInvalid(f"{tool_name}: arguments are not valid JSON: {detail}") from exc
    if not isinstance(data, dict):
        raise ToolArgumentsInvalid(f"{tool_name}: arguments must be a JSON object, got {_json_kind(data)}")
    return data


def _validate(spec: ToolSpec, data: Mapping[str, Any]) -> BaseModel:
    try:
        return spec.arguments_model.model_validate(data)
    except ValidationError as exc:
        raise ToolArgumentsInvalid(_describe(spec.name, exc)) from exc


def _describe(tool_name: str, exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    parts = [f"{_location(err['loc'])}: {err['msg']}" for err in errors[:_MAX_REPORTED_ERRORS]]
    if len(errors) > _MAX_REPORTED_ERRORS:
        parts.append(f"and {len(errors) - _MAX_REPORTED_ERRORS} more errors")
    return f"{tool_name}: " + "; ".join(parts)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "arguments"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
