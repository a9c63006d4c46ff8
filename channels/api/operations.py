"""The API's operations, a table: method, path, id, summary, the models of its body, query and
answer, and the errors it can give besides the common ones. `channels/api/openapi.py` builds the
OpenAPI document from it; the route modules own the models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from channels.api.routes_alerts import AlertList, AlertsQuery, AlertView, InvestigationView, SilenceBody
from channels.api.routes_bots import BotList
from channels.api.routes_knowledge import (
    DocumentList,
    DocumentQuery,
    GroupList,
    IngestView,
    NamespaceBody,
    NamespaceList,
    NamespaceView,
    SearchBody,
    SearchView,
    UploadBody,
)
from channels.api.routes_messages import MessageView
from channels.api.routes_schedules import ScheduleBody, ScheduleList, ScheduleView
from channels.api.routes_sessions import (
    MessagesQuery,
    MeView,
    SessionList,
    SessionMessageList,
    SessionsQuery,
    SessionView,
)
from channels.api.schemas import (
    MAX_SEQ,
    AnswerBody,
    ApprovalList,
    ApprovalsQuery,
    ApprovalView,
    AuditList,
    AuditParams,
    DecisionBody,
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


@dataclass(frozen=True)
class Header:
    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    ok: tuple[int, type[BaseModel] | None]  # None: no content
    errors: tuple[int, ...] = (404,)  # besides _COMMON_ERRORS
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    headers: tuple[Header, ...] = ()
    public: bool = False  # no API key needed, no store read, no load shedding
    streams: bool = False  # also answers text/event-stream
    notes: str = ""
    extra_ok: dict[int, str] = field(default_factory=dict)


SCHEDULE_OPERATIONS = (
    Operation(
        "get",
        "/v1/schedules",
        "listSchedules",
        "The caller's schedules (all of the tenant's for an admin).",
        ok=(200, ScheduleList),
        errors=(),
    ),
    Operation(
        "post",
        "/v1/schedules",
        "createSchedule",
        "Create a schedule: a bot runs `prompt` on a cron or an interval and posts to `target`.",
        ok=(201, ScheduleView),
        errors=(400, 404, 413, 422),
        body=ScheduleBody,
        notes="Give exactly one of `cron` (five fields, read in `timezone`) or `interval_s`; the target "
        "names a channel or a user of its surface, or (Teams) a conversation the bot has stored: an unknown "
        "one is a 404.",
    ),
    Operation("get", "/v1/schedules/{schedule_id}", "getSchedule", "One schedule.", ok=(200, ScheduleView)),
    Operation(
        "delete",
        "/v1/schedules/{schedule_id}",
        "deleteSchedule",
        "Delete a schedule.",
        ok=(204, None),
        errors=(404,),
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
        errors=(422,),
        query=AlertsQuery,
    ),
    Operation("get", "/v1/alerts/{alert_id}", "getAlert", "One alert.", ok=(200, AlertView)),
    Operation(
        "post",
        "/v1/alerts/{alert_id}/acknowledge",
        "acknowledgeAlert",
        "Say you are on it. Any member of the tenant may.",
        ok=(200, AlertView),
        errors=(404, 409),
    ),
    Operation(
        "post",
        "/v1/alerts/{alert_id}/silence",
        "silenceAlert",
        "Silence an alert, and the next incidents of its check, for a while. An admin or the check's "
        "owner may.",
        ok=(200, AlertView),
        errors=(400, 403, 404, 409, 413, 422),
        body=SilenceBody,
    ),
    Operation(
        "post",
        "/v1/alerts/{alert_id}/investigate",
        "investigateAlert",
        "Start the alert's bot on it, as the caller; returns the run at once. Once per alert.",
        ok=(202, InvestigationView),
        errors=(403, 404, 409),
        notes="The run's session is the caller's API session `alert-<alert id>`: send follow-ups to "
        "`POST /v1/runs` with that `session`.",
    ),
)

SESSION_OPERATIONS = (
    Operation(
        "get", "/v1/me", "me", "Who the API key belongs to: user, name, role, tenant.", ok=(200, MeView)
    ),
    Operation(
        "get",
        "/v1/sessions",
        "listSessions",
        "The caller's own conversations (an admin's too), latest activity first, a page at a time.",
        ok=(200, SessionList),
        errors=(422,),
        query=SessionsQuery,
        notes="A conversation is the caller's when one of its runs is. Continue one of the API's with "
        "`POST /v1/runs` and its `key` as `session`.",
    ),
    Operation(
        "get",
        "/v1/sessions/{session_id}",
        "getSession",
        "One of the caller's conversations; another user's is not found.",
        ok=(200, SessionView),
    ),
    Operation(
        "get",
        "/v1/sessions/{session_id}/messages",
        "sessionMessages",
        "The messages of the caller's runs in one of their conversations, oldest first.",
        ok=(200, SessionMessageList),
        errors=(404, 422),
        query=MessagesQuery,
    ),
)

KNOWLEDGE_OPERATIONS = (
    Operation(
        "get",
        "/v1/knowledge/namespaces",
        "listKnowledgeNamespaces",
        "The knowledge namespaces the caller may search, with their document and chunk counts.",
        ok=(200, NamespaceList),
        errors=(),
    ),
    Operation(
        "post",
        "/v1/knowledge/namespaces",
        "createKnowledgeNamespace",
        "Create a namespace: a private one (anyone), a tenant-wide or channel one (admins).",
        ok=(201, NamespaceView),
        errors=(400, 403, 409, 413, 422),
        body=NamespaceBody,
    ),
    Operation(
        "delete",
        "/v1/knowledge/namespaces/{namespace}",
        "deleteKnowledgeNamespace",
        "Delete a namespace with its documents (its owner, or an admin for tenant and channel ones).",
        ok=(204, None),
        errors=(403, 404),
    ),
    Operation(
        "get",
        "/v1/knowledge/namespaces/{namespace}/documents",
        "listKnowledgeDocuments",
        "A namespace's documents, with each one's status and, when it failed, why.",
        ok=(200, DocumentList),
        errors=(403, 404),
    ),
    Operation(
        "put",
        "/v1/knowledge/namespaces/{namespace}/documents",
        "uploadKnowledgeDocument",
        "Add or replace one document (incremental: unchanged content is not re-embedded).",
        ok=(200, IngestView),
        errors=(400, 403, 404, 413, 422),
        body=UploadBody,
        notes="A document that cannot be read (binary, empty, not UTF-8, an encrypted PDF) is listed "
        "in `failed` with why, and has no chunks.",
    ),
    Operation(
        "delete",
        "/v1/knowledge/namespaces/{namespace}/documents",
        "removeKnowledgeDocument",
        "Remove one document and its chunks.",
        ok=(204, None),
        errors=(403, 404, 422),
        query=DocumentQuery,
    ),
    Operation(
        "post",
        "/v1/knowledge/search",
        "searchKnowledge",
        "Search what the caller may see: keyword and dense, fused; results carry citations and ranks.",
        ok=(200, SearchView),
        errors=(400, 413, 422),
        body=SearchBody,
    ),
    Operation(
        "get",
        "/v1/knowledge/groups",
        "listKnowledgeGroups",
        'The tenant\'s groups (for allow-list entries "group:<name>") with their members (admins).',
        ok=(200, GroupList),
        errors=(403,),
    ),
    Operation(
        "put",
        "/v1/knowledge/groups/{group}/members/{user_id}",
        "addKnowledgeGroupMember",
        "Add a user of the tenant to a group; a group exists while it has members (admins).",
        ok=(204, None),
        errors=(403, 404, 422),
    ),
    Operation(
        "delete",
        "/v1/knowledge/groups/{group}/members/{user_id}",
        "removeKnowledgeGroupMember",
        "Remove a user from a group (admins).",
        ok=(204, None),
        errors=(403, 404),
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/v1/runs",
        "submitRun",
        "Send a message to a bot; returns at once with the queued run.",
        ok=(202, SubmittedRunView),
        errors=(400, 409, 413, 422),
        body=SubmitBody,
        headers=(
            Header(
                "Idempotency-Key",
                "Same key and body: the same run (`created: false`).",
                {"type": "string", "pattern": "^[!-~]{1,128}$"},
            ),
        ),
    ),
    Operation(
        "get",
        "/v1/runs",
        "listRuns",
        "The caller's runs (all of the tenant's for an admin), newest first.",
        ok=(200, RunList),
        errors=(422,),
        query=ListQuery,
    ),
    Operation("get", "/v1/runs/{run_id}", "getRun", "One run.", ok=(200, RunView)),
    Operation(
        "get",
        "/v1/runs/{run_id}/events",
        "runEvents",
        "The run's events.",
        ok=(200, EventList),
        errors=(404, 422),
        query=EventsQuery,
        streams=True,
        headers=(
            Header(
                "Last-Event-ID",
                "Resume after this seq (wins over `after`).",
                {"type": "integer", "minimum": 0, "maximum": MAX_SEQ},
            ),
        ),
        notes="Server-Sent Events by default: one message per event (`id` = seq, `event` = type, `data` = "
        "the event as JSON), until the run is completed, failed or cancelled. Between them, `delta` "
        "messages carry the model's text as it is generated (`step`, `offset`, `text`; `tool` when it has "
        "just named a tool): transient, never stored and without an `id`, so `Last-Event-ID` is always a "
        "durable seq; a reconnecting client gets the history, then the step's text so far (offset 0), then "
        "the live tail; offset 0 starts the step's text over, and the step's `ModelResponded` replaces "
        "it. `Accept: application/json` returns the events so far as one JSON document instead.",
    ),
    Operation(
        "post",
        "/v1/runs/{run_id}/cancel",
        "cancelRun",
        "Cancel a run.",
        ok=(200, RunView),
        errors=(404, 409),
    ),
    Operation(
        "post",
        "/v1/runs/{run_id}/resume",
        "resumeRun",
        "Continue a failed run from its last checkpoint (or nudge an active one).",
        ok=(202, RunView),
        errors=(404, 409),
    ),
    Operation(
        "post",
        "/v1/runs/{run_id}/reconcile",
        "reconcileRun",
        "Say what became of a side effect whose outcome is unknown; the run continues. Admins only.",
        ok=(200, RunView),
        errors=(400, 403, 404, 409, 413, 422),
        body=ReconcileBody,
    ),
    Operation(
        "get",
        "/v1/approvals",
        "listApprovals",
        "Approvals of tool calls: the tenant's for an admin, the ones a member asked for.",
        ok=(200, ApprovalList),
        errors=(422,),
        query=ApprovalsQuery,
    ),
    Operation("get", "/v1/approvals/{approval_id}", "getApproval", "One approval.", ok=(200, ApprovalView)),
    Operation(
        "post",
        "/v1/approvals/{approval_id}",
        "decideApproval",
        "Approve or deny a tool call; the run resumes by itself. The first valid decision wins.",
        ok=(200, ApprovalView),
        errors=(400, 403, 404, 409, 413, 422),
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
        errors=(400, 403, 404, 409, 413, 422),
        body=AnswerBody,
    ),
    Operation(
        "get",
        "/v1/audit",
        "audit",
        "The tenant's audit log, oldest first. Admins only.",
        ok=(200, AuditList),
        errors=(403, 404, 422),
        query=AuditParams,
    ),
    Operation("get", "/v1/bots", "listBots", "The bots a caller can talk to.", ok=(200, BotList), errors=()),
    Operation(
        "get",
        "/v1/runs/{run_id}/message",
        "getRunMessage",
        "The user's message that started a run.",
        ok=(200, MessageView),
    ),
    *SCHEDULE_OPERATIONS,
    *ALERT_OPERATIONS,
    *SESSION_OPERATIONS,
    *KNOWLEDGE_OPERATIONS,
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
