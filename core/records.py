"""Plain records the store hands out. Frozen: nothing outside the store mutates the system of record."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.lifecycle import RunStatus


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
class ChatMessage:
    id: str
    session_id: str
    role: str
    content: str
    user_id: str | None
    run_id: str | None
    created_at: float


@dataclass(frozen=True)
class ToolInvocation:
    idempotency_key: str
    tenant_id: str
    run_id: str
    tool: str
    args_hash: str
    args: dict[str, Any]
    status: str  # running | succeeded | failed | unknown
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
    tier: str  # user | admin
    requester_id: str
    status: str  # pending | approved | denied | expired | cancelled
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
    status: str  # pending | answered | expired | cancelled
    answer: str | None
    answered_by: str | None
    answered_at: float | None
    expires_at: float
    created_at: float
