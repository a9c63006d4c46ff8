"""Plain records the store hands out. Frozen: nothing outside the store mutates the system of record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from core.lifecycle import RunStatus
from core.tiers import Tier

if TYPE_CHECKING:
    from sqlalchemy import Connection  # the admission hook runs inside the submission's transaction


class Role(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is asking: every store read is scoped by it."""

    tenant_id: str
    user_id: str
    role: Role = Role.MEMBER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class User:
    id: str
    tenant_id: str
    name: str
    role: Role


@dataclass(frozen=True)
class Session:
    id: str
    tenant_id: str
    surface: str
    thread_key: str
    bot: str


@dataclass(frozen=True)
class Run:
    id: str
    tenant_id: str
    session_id: str
    user_id: str
    message_id: str
    bot: str
    surface: str
    thread_key: str
    status: RunStatus
    step: int
    event_seq: int
    fence: int
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    answer: str | None
    error_code: str | None
    error_message: str | None
    created_at: float
    updated_at: float
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None


@dataclass(frozen=True)
class RunEvent:
    run_id: str
    seq: int
    type: str
    payload: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class NewEvent:
    type: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """What a decision changes: the row's new values, the event, the audit entry."""

    values: dict[str, Any]
    event: NewEvent
    audit_action: str
    actor: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class NewRun:
    tenant_id: str
    user_id: str
    surface: str
    thread_key: str
    bot: str
    text: str
    idempotency_key: str | None = None
    request_hash: str | None = None
    event_id: str | None = None  # the surface's delivery id, for retried webhooks
    # Admission, run inside the insert's transaction (no second round trip): the place in line,
    # or raises `Busy`, which rolls the whole submission back.
    admit: Callable[[Connection], int | None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Submitted:
    run: Run | None  # None: a duplicate delivery of an event we already recorded
    created: bool
    position: int | None = None  # its place in line when limits hold it back (core/admission.py)


@dataclass(frozen=True)
class ChatMessage:
    id: str
    session_id: str
    role: str
    content: str
    user_id: str | None
    run_id: str | None
    created_at: float


class InvocationStatus(StrEnum):
    """A tool call's record: its intent, then its outcome."""

    RUNNING = "running"  # the intent, recorded before the call
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the worker died mid-call: a human reconciles it
    RETRY = "retry"  # reconciled as "call it again"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # with its run


class QuestionStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # with its run


@dataclass(frozen=True)
class ToolInvocation:
    idempotency_key: str
    tenant_id: str
    run_id: str
    tool: str
    args_hash: str
    args: dict[str, Any]
    status: InvocationStatus
    result: Any
    error: str | None
    attempts: int


@dataclass(frozen=True)
class Approval:
    id: str
    tenant_id: str
    run_id: str
    call_key: str
    tool: str
    args: dict[str, Any]
    args_hash: str
    tier: Tier  # user | admin
    requester_id: str
    status: ApprovalStatus
    decided_by: str | None
    decided_at: float | None
    reason: str | None
    expires_at: float
    created_at: float


@dataclass(frozen=True)
class Question:
    id: str
    tenant_id: str
    run_id: str
    call_key: str
    prompt: str
    options: list[str]
    allow_free_text: bool
    asked_of: str
    status: QuestionStatus
    answer: str | None
    answered_by: str | None
    answered_at: float | None
    expires_at: float
    created_at: float


@dataclass(frozen=True)
class ConversationReference:
    """Where a surface's conversation lives, saved from the last activity that arrived in it, so
    replies and proactive posts (which answer no incoming activity) know where to go."""

    key: str  # the session's thread key
    conversation_id: str  # as the platform names it (a Teams thread's id ends in ";messageid=<root>")
    service_url: str  # the platform's endpoint, only ever taken from an authenticated activity
    reply_to_id: str | None  # a channel thread's root message: replies go under it
    reference: dict[str, Any]  # the platform's full reference (Bot Framework's ConversationReference)


@dataclass(frozen=True)
class AuditEntry:
    id: str
    tenant_id: str
    run_id: str | None
    actor_user_id: str | None
    action: str
    tool: str | None
    detail: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class AuditQuery:
    run_id: str | None = None
    actor_user_id: str | None = None
    tool: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 200
