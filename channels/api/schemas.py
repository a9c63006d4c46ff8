"""What crosses the HTTP boundary: request bodies, query strings and responses, as pydantic models.

Core hands out frozen dataclasses; the converters at the bottom turn them into these views.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from channels.http import ErrorBody as ErrorBody  # the API's documents name it here
from channels.http import ErrorDetail
from core.errors import InvalidInput
from core.governance.desk import MAX_FREE_TEXT
from core.lifecycle import RunStatus
from core.records import Approval, AuditEntry, Question, Run, RunEvent
from core.text import check_identifier, check_text

MAX_SEQ = 2**31 - 1  # event seqs are 32-bit integers in the store
MAX_ID = 40  # the store's id columns


def _policy(check: Callable[[str, str], str]) -> AfterValidator:
    """A core/text.py check as a pydantic validator: its refusal names the field."""

    def validate(value: str) -> str:
        try:
            return check(value, "the value")
        except InvalidInput as exc:
            raise ValueError(exc.message) from None

    return AfterValidator(validate)


# The text policy (core/text.py) for bodies and queries: an id, key or name holds no control
# character; free text keeps line breaks and tabs but no NUL or lone surrogate.
Identifier = Annotated[
    str,
    _policy(check_identifier),
    Field(json_schema_extra={"pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"}),
]
FreeText = Annotated[str, _policy(check_text), Field(json_schema_extra={"pattern": "^[^\\u0000]*$"})]

# What Python's str.strip() removes (every character whose isspace() is true), spelled with \u
# escapes so that the document's ECMA regex and Python's re read the same class: their `\s`
# differ (U+001C to U+001F, U+0085, U+FEFF).
SPACE = (
    "\\u0009-\\u000d\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
_NOT_SPACE = re.compile(f"[^{SPACE}]")


def _not_blank(value: str) -> str:
    if _NOT_SPACE.search(value) is None:
        raise ValueError("the value is empty or only white space")
    return value


# Free text that must say something: at least one character strip() keeps (and no NUL).
Said = Annotated[
    str,
    _policy(check_text),
    AfterValidator(_not_blank),
    Field(json_schema_extra={"pattern": f"^[^\\u0000]*[^\\u0000{SPACE}][^\\u0000]*$"}),
]


class SubmitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot: Identifier = Field(min_length=1, max_length=100, description="The bot to talk to.")
    message: Said = Field(
        description="The user's message: something besides white space; the runtime bounds its length."
    )
    session: Identifier | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A thread key of your choosing: runs with the same key share a conversation. "
        "Keys are private to the API key's user. Null starts a new, one-off session.",
    )


class ListQuery(BaseModel):
    status: RunStatus | None = None
    bot: Identifier | None = Field(default=None, max_length=100)
    limit: int = Field(default=50, ge=1, le=200)


class EventsQuery(BaseModel):
    after: int = Field(
        default=0, ge=0, le=MAX_SEQ, description="Send only events with a larger seq (Last-Event-ID wins)."
    )
    follow: bool = Field(default=True, description="Keep the stream open until the run ends.")


class UsageView(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class RunLinks(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    self_: str = Field(alias="self")
    events: str


class PendingView(BaseModel):
    kind: Literal["approval", "question"]
    id: str


class RunView(BaseModel):
    id: str
    bot: str
    status: RunStatus
    step: int
    session_id: str
    user_id: str
    answer: str | None
    error: ErrorDetail | None
    usage: UsageView
    created_at: datetime
    updated_at: datetime
    links: RunLinks
    pending: PendingView | None = Field(
        default=None, description="What a run in waiting_approval or waiting_input waits for."
    )


class SubmittedRunView(RunView):
    created: bool = Field(description="False when an Idempotency-Key replay returned an existing run.")
    queue_position: int | None = Field(
        default=None, description="Set when limits or a backlog hold the run back: its place in line."
    )


class RunList(BaseModel):
    runs: list[RunView]


class EventView(BaseModel):
    seq: int
    type: str
    payload: dict[str, Any]
    created_at: datetime


class EventList(BaseModel):
    run_id: str
    status: RunStatus
    events: list[EventView]


class Health(BaseModel):
    status: str
    error: ErrorDetail | None = None


# --- decisions: approvals, questions, reconciliation, audit ------------------------------------

MAX_REASON = 2000


# An instant in a query: epoch seconds, or an ISO-8601 date with an optional time and zone. The
# patterns admit only what parses (real calendar days, leap years included), so the document and
# the parser cannot disagree.
_EPOCH = "-?[0-9]{1,11}(?:\\.[0-9]{1,6})?"
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DATE = (
    f"(?:{_YEAR}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    f"|(?:0[13578]|1[02])-31)|{_LEAP_YEAR}-02-29)"
)
_TIME = (
    "(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,6})?)?"
    "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
_INSTANT = re.compile(f"(?:(?P<epoch>{_EPOCH})|{_DATE}{_TIME})")


def epoch_seconds(value: Any) -> Any:
    """An instant as epoch seconds, from epoch seconds or ISO-8601 (UTC when it names no zone)."""
    if not isinstance(value, str):
        return value
    found = _INSTANT.fullmatch(value)
    if found is None:
        raise ValueError(
            "expected epoch seconds or an ISO-8601 time such as 2024-05-01 or 2024-05-01T09:30:00Z"
        )
    if found.group("epoch") is not None:
        return float(value)
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


Instant = Annotated[
    float,
    BeforeValidator(epoch_seconds),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^(?:{_EPOCH}|{_DATE}{_TIME})$",
            "description": "Epoch seconds, or an ISO-8601 date with an optional time and zone "
            "(2024-05-01, 2024-05-01T09:30:00Z); UTC if it names no zone.",
        }
    ),
]
ApprovalStatus = Literal["pending", "approved", "denied", "expired", "cancelled"]


class ApprovalsQuery(BaseModel):
    status: ApprovalStatus | Literal["all"] = "pending"
    limit: int = Field(default=100, ge=1, le=200)


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "deny"]
    reason: FreeText | None = Field(
        default=None, max_length=MAX_REASON, description="Told to the agent on a denial."
    )


class ApprovalView(BaseModel):
    id: str
    run_id: str
    tool: str
    args: dict[str, Any] = Field(description="Exactly the arguments that run if this is approved.")
    tier: Literal["user", "admin"]
    requester_id: str
    status: ApprovalStatus
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    expires_at: datetime
    created_at: datetime
    may_decide: bool = Field(description="Whether the caller may approve this now.")


class ApprovalList(BaseModel):
    approvals: list[ApprovalView]


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: FreeText = Field(
        min_length=1,
        max_length=MAX_FREE_TEXT,
        description="An option's text, its 1-based number, or free text when the question allows it.",
    )


class QuestionView(BaseModel):
    id: str
    run_id: str
    prompt: str
    options: list[str]
    allow_free_text: bool
    asked_of: str
    status: Literal["pending", "answered", "expired", "cancelled"]
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    expires_at: datetime


class ReconcileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["done", "not_done", "retry"] = Field(
        description="done: the side effect happened; not_done: it did not; retry: run it again."
    )
    note: FreeText | None = Field(default=None, max_length=MAX_REASON)


class AuditParams(BaseModel):
    run_id: Identifier | None = Field(default=None, max_length=MAX_ID)
    user_id: Identifier | None = Field(default=None, max_length=MAX_ID, description="Who acted.")
    tool: Identifier | None = Field(default=None, max_length=100)
    since: Instant | None = None
    until: Instant | None = Field(default=None, description="Exclusive.")
    limit: int = Field(default=200, ge=1, le=1000)


class AuditEntryView(BaseModel):
    id: str
    run_id: str | None
    actor_user_id: str | None
    action: str
    tool: str | None
    detail: dict[str, Any]
    created_at: datetime


class AuditList(BaseModel):
    entries: list[AuditEntryView]


def timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def run_view(run: Run, links: RunLinks, pending: PendingView | None = None) -> RunView:
    return RunView(**_run_fields(run, links), pending=pending)


def submitted_view(
    run: Run,
    links: RunLinks,
    *,
    created: bool,
    pending: PendingView | None = None,
    queue_position: int | None = None,
) -> SubmittedRunView:
    return SubmittedRunView(
        **_run_fields(run, links), created=created, pending=pending, queue_position=queue_position
    )


def event_view(event: RunEvent) -> EventView:
    return EventView(
        seq=event.seq, type=event.type, payload=event.payload, created_at=timestamp(event.created_at)
    )


def _run_fields(run: Run, links: RunLinks) -> dict[str, Any]:
    error = None
    if run.error_code is not None:
        error = ErrorDetail(code=run.error_code, message=run.error_message or "")
    return {
        "id": run.id,
        "bot": run.bot,
        "status": run.status,
        "step": run.step,
        "session_id": run.session_id,
        "user_id": run.user_id,
        "answer": run.answer,
        "error": error,
        "usage": UsageView(
            prompt_tokens=run.prompt_tokens, completion_tokens=run.completion_tokens, cost_usd=run.cost_usd
        ),
        "created_at": timestamp(run.created_at),
        "updated_at": timestamp(run.updated_at),
        "links": links,
    }


def approval_view(approval: Approval, *, may_decide: bool) -> ApprovalView:
    return ApprovalView(
        id=approval.id,
        run_id=approval.run_id,
        tool=approval.tool,
        args=approval.args,
        tier=approval.tier,  # type: ignore[arg-type]  # the store writes only user | admin
        requester_id=approval.requester_id,
        status=approval.status,  # type: ignore[arg-type]
        decided_by=approval.decided_by,
        decided_at=_maybe_timestamp(approval.decided_at),
        reason=approval.reason,
        expires_at=timestamp(approval.expires_at),
        created_at=timestamp(approval.created_at),
        may_decide=may_decide,
    )


def question_view(question: Question) -> QuestionView:
    return QuestionView(
        id=question.id,
        run_id=question.run_id,
        prompt=question.prompt,
        options=question.options,
        allow_free_text=question.allow_free_text,
        asked_of=question.asked_of,
        status=question.status,  # type: ignore[arg-type]
        answer=question.answer,
        answered_by=question.answered_by,
        answered_at=_maybe_timestamp(question.answered_at),
        expires_at=timestamp(question.expires_at),
    )


def audit_entry_view(entry: AuditEntry) -> AuditEntryView:
    return AuditEntryView(
        id=entry.id,
        run_id=entry.run_id,
        actor_user_id=entry.actor_user_id,
        action=entry.action,
        tool=entry.tool,
        detail=entry.detail,
        created_at=timestamp(entry.created_at),
    )


def _maybe_timestamp(seconds: float | None) -> datetime | None:
    return None if seconds is None else timestamp(seconds)
