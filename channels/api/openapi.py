"""The OpenAPI 3.1 document, built from a table of operations and the pydantic models they use,
so the schemas a client reads are the ones the server validates and renders with.

Every error a route can give is listed with the `ErrorBody` schema: its own (`Operation.errors`)
and the ones every request can meet (`_COMMON_ERRORS`: no key, load shedding, a store that is
down), with the headers that come with them. The test suite fuzzes the served app from this
document (tests/channels/api/test_schemathesis.py), so a response it does not describe fails."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from channels.api.operations import OPERATIONS, Operation
from channels.api.schemas import ErrorBody, EventView
from channels.api.sse import stream_schema

REF = "#/components/schemas/{model}"


_PATH_PARAM = re.compile(r"\{(\w+)\}")
# Every id in a path: the text policy's identifier, no longer than the store's id columns.
_PATH_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": 40,
    "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
}
_ERROR_TEXT = {
    400: "The body is not JSON (`malformed_json`).",
    401: "No API key, or an unknown one (`unauthorized`).",
    403: "Known caller, not allowed (`forbidden`); the message says who may.",
    404: "No such item for this caller (`not_found`); another tenant's ids are never visible.",
    409: "The state does not allow this (`illegal_transition`, `awaiting_decision`, `already_decided`, "
    "`expired`, `not_waiting`, `conflict`, `idempotency_conflict`: the Idempotency-Key was used with "
    "another request).",
    413: "The body is larger than the limit (`payload_too_large`).",
    422: "Invalid input (`invalid_input`, `unknown_bot`).",
    429: "Too much work is waiting (`busy`, `overloaded`): nothing was done; try again after Retry-After.",
    503: "The store is unavailable (`store_unavailable`); see Retry-After.",
}
# What any request with a key can meet: a missing or unknown key, a server shedding load, a store
# that does not answer.
_COMMON_ERRORS = (401, 429, 503)
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
_ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "How to authenticate: `Bearer`.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}

Mode = Literal["validation", "serialization"]
Refs = dict[tuple[type[BaseModel], Mode], dict[str, Any]]


def openapi_document(
    operations: tuple[Operation, ...] = OPERATIONS,
    *,
    title: str = "Switchboard API",
    bots: Sequence[str] = (),
) -> dict[str, Any]:
    """`bots`: the names a body's `bot` may take (any other is a 422 `unknown_bot`); none: any."""
    refs, schemas = _schemas(operations)
    if bots:
        _name_bots(operations, refs, schemas, list(bots))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = _operation(op, refs, schemas)
    paths["/openapi.json"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "security": [],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "429": _error_response(429, refs),
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An API key."}},
        },
        "security": [{"bearer": []}],
    }


def _schemas(operations: tuple[Operation, ...]) -> tuple[Refs, dict[str, Any]]:
    """Every model's $ref, and the component schemas they point to."""
    wanted: dict[tuple[type[BaseModel], Mode], None] = {
        (ErrorBody, "serialization"): None,
        (EventView, "serialization"): None,  # one message of an event stream
    }
    for op in operations:
        if op.ok[1] is not None:
            wanted[(op.ok[1], "serialization")] = None
        for inbound in (op.body, op.query):
            if inbound is not None:
                wanted[(inbound, "validation")] = None
    refs, top = models_json_schema(list(wanted), ref_template=REF)
    return {(model, mode): ref for (model, mode), ref in refs.items() if issubclass(model, BaseModel)}, dict(
        top.get("$defs", {})
    )


def _name_bots(
    operations: tuple[Operation, ...], refs: Refs, schemas: dict[str, Any], bots: list[str]
) -> None:
    for op in operations:
        if op.body is not None:
            bot = _resolve(refs[(op.body, "validation")], schemas).get("properties", {}).get("bot")
            if bot is not None and bot.get("type") == "string":
                bot["enum"] = bots


def _operation(op: Operation, refs: Refs, schemas: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {str(op.ok[0]): {"description": "No content"}}
    ok: dict[str, Any] = {}
    if op.ok[1] is not None:
        ok = {"application/json": {"schema": refs[(op.ok[1], "serialization")]}}
        if op.streams:
            ok["text/event-stream"] = {
                "schema": stream_schema(
                    refs[(EventView, "serialization")], refs[(ErrorBody, "serialization")]
                )
            }
        responses[str(op.ok[0])] = {"description": "OK", "content": ok}
    for status, text in op.extra_ok.items():
        responses[str(status)] = {"description": text, "content": ok}
    # A path whose id holds a control character, or is longer than any id, is a 422 (PathGuard).
    path_errors = (422,) if _PATH_PARAM.search(op.path) else ()
    for status in sorted({*op.errors, *path_errors, *(() if op.public else _COMMON_ERRORS)}):
        responses[str(status)] = _error_response(status, refs)
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "responses": responses}
    if op.notes:
        out["description"] = op.notes
    if op.public:
        out["security"] = []
    params = [
        {"name": name, "in": "path", "required": True, "schema": _PATH_ID}
        for name in _PATH_PARAM.findall(op.path)
    ]
    params += [
        {"name": h.name, "in": "header", "required": False, "description": h.description, "schema": h.schema}
        for h in op.headers
    ]
    if op.query is not None:
        params += _query_parameters(_resolve(refs[(op.query, "validation")], schemas))
    if params:
        out["parameters"] = params
    if op.body is not None:
        body = {"application/json": {"schema": refs[(op.body, "validation")]}}
        out["requestBody"] = {"required": True, "content": body}
    return out


def _error_response(status: int, refs: Refs) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _ERROR_TEXT[status],
        "content": {"application/json": {"schema": refs[(ErrorBody, "serialization")]}},
    }
    if status in _ERROR_HEADERS:
        response["headers"] = _ERROR_HEADERS[status]
    return response


def _resolve(ref: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    name = ref["$ref"].rsplit("/", 1)[-1]
    resolved: dict[str, Any] = schemas[name]
    return resolved


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _not_null(prop)}
        for name, prop in schema.get("properties", {}).items()
    ]


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a string, never null: `X | None` fields lose their null."""
    branches = [b for b in prop.get("anyOf", ()) if b != {"type": "null"}]
    if len(branches) != 1 or len(prop["anyOf"]) != 2:
        return prop
    outer = {k: v for k, v in prop.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**branches[0], **outer}
