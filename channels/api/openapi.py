"""The OpenAPI 3.1 document, built from a table of operations and the pydantic models they use,
so the schemas a client reads are the ones the server validates and renders with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from channels.api.routes_alerts import AlertList, AlertsQuery, AlertView, InvestigationView, SilenceBody
from channels.api.routes_bots import BotList
from channels.api.routes_messages import MessageView
from channels.api.routes_schedules import ScheduleBody, ScheduleList, ScheduleView
from channels.api.schemas import (
    AnswerBody,
    ApprovalList,
    ApprovalsQuery,
    ApprovalView,
    AuditList,
    AuditParams,
    DecisionBody,
    ErrorBody,
    EventList,
    EventsQuery,
    Health,
    ListQuery,
    QuestionView,
    ReconcileBody,
    RunList,
    RunView,
    SubmitBody,
    SubmittedRunView,
)

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Header:
    name: str
    description: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    ok: tuple[int, type[BaseModel] | None]  # None: no content
    errors: tuple[int, ...] = (401, 404, 503)
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    headers: tuple[Header, ...] = ()
    public: bool = False  # no API key needed
    streams: bool = False  # also answers text/event-stream
    notes: str = ""
    extra_ok: dict[int, str] = field(default_factory=dict)


_PATH_PARAM = re.compile(r"\{(\w+)\}")
_ERROR_TEXT = {
    400: "The body is not JSON (`malformed_json`).",
    401: "No API key, or an unknown one (`unauthorized`).",
    403: "Known caller, not allowed (`forbidden`); the message says who may.",
    404: "No such item for this caller (`not_found`); another tenant's ids are never visible.",
    409: "The state does not allow this (`illegal_transition`, `awaiting_decision`, `already_decided`, "
    "`expired`, `not_waiting`, `conflict`).",
    413: "The body is larger than the limit (`payload_too_large`).",
    422: "Invalid input (`invalid_input`, `unknown_bot`, `idempotency_conflict`).",
    429: "Too much work is waiting (`busy`): nothing was recorded; try again after Retry-After.",
    503: "The store is unavailable (`store_unavailable`); see Retry-After.",
}

SCHEDULE_OPERATIONS = (
    Operation(
        "get",
        "/v1/schedules",
        "listSchedules",
        "The caller's schedules (all of the tenant's for an admin).",
        ok=(200, ScheduleList),
        errors=(401, 503),
    ),
    Operation(
        "post",
        "/v1/schedules",
        "createSchedule",
        "Create a schedule: a bot runs `prompt` on a cron or an interval and posts to `target`.",
        ok=(201, ScheduleView),
        errors=(400, 401, 413, 422, 503),
        body=ScheduleBody,
        notes="Give exactly one of `cron` (five fields, read in `timezone`) or `interval_s`; the target "
        "names a channel or a user of its surface.",
    ),
    Operation("get", "/v1/schedules/{schedule_id}", "getSchedule", "One schedule.", ok=(200, ScheduleView)),
    Operation(
        "delete",
        "/v1/schedules/{schedule_id}",
        "deleteSchedule",
        "Delete a schedule.",
        ok=(204, None),
        errors=(401, 404, 503),
    ),
    Operation(
        "post",
        "/v1/schedules/{schedule_id}/pause",
        "pauseSchedule",
        "Stop a schedule from firing until it is resumed.",
        ok=(200, ScheduleView),
    ),
    Operation(
        "post",
        "/v1/schedules/{schedule_id}/resume",
        "resumeSchedule",
        "Fire a paused schedule again, from now on (missed fires are not made up).",
        ok=(200, ScheduleView),
    ),
)

ALERT_OPERATIONS = (
    Operation(
        "get",
        "/v1/alerts",
        "listAlerts",
        "The tenant's alerts raised by anomaly checks, newest first.",
        ok=(200, AlertList),
        errors=(401, 422, 503),
        query=AlertsQuery,
    ),
    Operation("get", "/v1/alerts/{alert_id}", "getAlert", "One alert.", ok=(200, AlertView)),
    Operation(
        "post",
        "/v1/alerts/{alert_id}/acknowledge",
        "acknowledgeAlert",
        "Say you are on it. Any member of the tenant may.",
        ok=(200, AlertView),
        errors=(401, 404, 409, 503),
    ),
    Operation(
        "post",
        "/v1/alerts/{alert_id}/silence",
        "silenceAlert",
        "Silence an alert, and the next incidents of its check, for a while. An admin or the check's "
        "owner may.",
        ok=(200, AlertView),
        errors=(400, 401, 403, 404, 409, 413, 422, 503),
        body=SilenceBody,
    ),
    Operation(
        "post",
        "/v1/alerts/{alert_id}/investigate",
        "investigateAlert",
        "Start the alert's bot on it, as the caller; returns the run at once. Once per alert.",
        ok=(202, InvestigationView),
        errors=(401, 403, 404, 409, 429, 503),
        notes="The run's session is the caller's API session `alert-<alert id>`: send follow-ups to "
        "`POST /v1/runs` with that `session`.",
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/v1/runs",
        "submitRun",
        "Send a message to a bot; returns at once with the queued run.",
        ok=(202, SubmittedRunView),
        errors=(400, 401, 413, 422, 429, 503),
        body=SubmitBody,
        headers=(Header("Idempotency-Key", "Same key and body: the same run (`created: false`)."),),
    ),
    Operation(
        "get",
        "/v1/runs",
        "listRuns",
        "The caller's runs (all of the tenant's for an admin), newest first.",
        ok=(200, RunList),
        errors=(401, 422, 503),
        query=ListQuery,
    ),
    Operation("get", "/v1/runs/{run_id}", "getRun", "One run.", ok=(200, RunView)),
    Operation(
        "get",
        "/v1/runs/{run_id}/events",
        "runEvents",
        "The run's events.",
        ok=(200, EventList),
        errors=(401, 404, 422, 503),
        query=EventsQuery,
        streams=True,
        headers=(Header("Last-Event-ID", "Resume after this seq (wins over `after`)."),),
        notes="Server-Sent Events by default: one message per event (`id` = seq, `event` = type, `data` = "
        "the event as JSON), until the run is completed, failed or cancelled. `Accept: application/json` "
        "returns the events so far as one JSON document instead.",
    ),
    Operation(
        "post",
        "/v1/runs/{run_id}/cancel",
        "cancelRun",
        "Cancel a run.",
        ok=(200, RunView),
        errors=(401, 404, 409, 503),
    ),
    Operation(
        "post",
        "/v1/runs/{run_id}/resume",
        "resumeRun",
        "Continue a failed run from its last checkpoint (or nudge an active one).",
        ok=(202, RunView),
        errors=(401, 404, 409, 503),
    ),
    Operation(
        "post",
        "/v1/runs/{run_id}/reconcile",
        "reconcileRun",
        "Say what became of a side effect whose outcome is unknown; the run continues. Admins only.",
        ok=(200, RunView),
        errors=(400, 401, 403, 404, 409, 413, 422, 503),
        body=ReconcileBody,
    ),
    Operation(
        "get",
        "/v1/approvals",
        "listApprovals",
        "Approvals of tool calls: the tenant's for an admin, the ones a member asked for.",
        ok=(200, ApprovalList),
        errors=(401, 422, 503),
        query=ApprovalsQuery,
    ),
    Operation("get", "/v1/approvals/{approval_id}", "getApproval", "One approval.", ok=(200, ApprovalView)),
    Operation(
        "post",
        "/v1/approvals/{approval_id}",
        "decideApproval",
        "Approve or deny a tool call; the run resumes by itself. The first valid decision wins.",
        ok=(200, ApprovalView),
        errors=(400, 401, 403, 404, 409, 413, 422, 503),
        body=DecisionBody,
        notes="A user-tier call is approved by the user who asked; an admin-tier one by an admin other "
        "than the one who asked. A denial's reason reaches the agent as the tool's result.",
    ),
    Operation("get", "/v1/questions/{question_id}", "getQuestion", "One question.", ok=(200, QuestionView)),
    Operation(
        "post",
        "/v1/questions/{question_id}",
        "answerQuestion",
        "Answer a question the agent asked; the run resumes by itself. Only the person asked may.",
        ok=(200, QuestionView),
        errors=(400, 401, 403, 404, 409, 413, 422, 503),
        body=AnswerBody,
    ),
    Operation(
        "get",
        "/v1/audit",
        "audit",
        "The tenant's audit log, oldest first. Admins only.",
        ok=(200, AuditList),
        errors=(401, 403, 404, 422, 503),
        query=AuditParams,
    ),
    Operation(
        "get", "/v1/bots", "listBots", "The bots a caller can talk to.", ok=(200, BotList), errors=(401, 503)
    ),
    Operation(
        "get",
        "/v1/runs/{run_id}/message",
        "getRunMessage",
        "The user's message that started a run.",
        ok=(200, MessageView),
    ),
    *SCHEDULE_OPERATIONS,
    *ALERT_OPERATIONS,
    Operation(
        "get",
        "/healthz",
        "health",
        "Does the store answer?",
        ok=(200, Health),
        errors=(),
        public=True,
        extra_ok={503: "The store does not answer."},
    ),
)


Mode = Literal["validation", "serialization"]
Refs = dict[tuple[type[BaseModel], Mode], dict[str, Any]]


def openapi_document(
    operations: tuple[Operation, ...] = OPERATIONS, *, title: str = "Switchboard API"
) -> dict[str, Any]:
    refs, schemas = _schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = _operation(op, refs, schemas)
    paths["/openapi.json"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "security": [],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
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
    wanted: dict[tuple[type[BaseModel], Mode], None] = {(ErrorBody, "serialization"): None}
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


def _operation(op: Operation, refs: Refs, schemas: dict[str, Any]) -> dict[str, Any]:
    error = {"application/json": {"schema": refs[(ErrorBody, "serialization")]}}
    responses: dict[str, Any] = {str(op.ok[0]): {"description": "No content"}}
    ok: dict[str, Any] = {}
    if op.ok[1] is not None:
        ok = {"application/json": {"schema": refs[(op.ok[1], "serialization")]}}
        responses[str(op.ok[0])] = {"description": "OK", "content": _with_stream(ok, op.streams)}
    for status, text in op.extra_ok.items():
        responses[str(status)] = {"description": text, "content": ok}
    for status in op.errors:
        responses[str(status)] = {"description": _ERROR_TEXT[status], "content": error}
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "responses": responses}
    if op.notes:
        out["description"] = op.notes
    if op.public:
        out["security"] = []
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(op.path)
    ]
    params += [
        {
            "name": h.name,
            "in": "header",
            "required": False,
            "description": h.description,
            "schema": {"type": "string"},
        }
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


def _with_stream(content: dict[str, Any], streams: bool) -> dict[str, Any]:
    return {**content, "text/event-stream": {"schema": {"type": "string"}}} if streams else content


def _resolve(ref: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    name = ref["$ref"].rsplit("/", 1)[-1]
    resolved: dict[str, Any] = schemas[name]
    return resolved


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]
