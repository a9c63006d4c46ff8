"""The step contract: what a worker is given when it takes a run's lease, and what it hands back
to be committed in one transaction. Plain values, imported by the engine (which decides) and the
store (which persists) alike, so neither has to import the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.ids import new_id
from core.lifecycle import RunStatus
from core.records import Approval, ChatMessage, InvocationStatus, NewEvent, Question, Run
from core.tiers import PolicyRule

ASK_USER = "ask_user"  # the built-in tool whose call parks the run for a person's answer


class Refusal(StrEnum):
    GONE = "gone"  # unknown, finished, parked, or leased by another worker
    NOT_YOUR_TURN = "not_your_turn"  # an earlier run of the same session goes first
    DEAD_LETTERED = "dead_lettered"  # too many lease takeovers without progress
    HELD = "held"  # admission: its user or tenant is at its limit of running runs (core/admission.py)


@dataclass(frozen=True)
class Lease:
    run: Run
    owner: str
    fence: int
    expires_at: float


@dataclass(frozen=True)
class CallInputs:
    """What the approval gate needs about the next pending tool call."""

    rules: list[PolicyRule]  # the tenant's policy rules for this tool
    approval: Approval | None  # the approval requested for this call, if any
    question: Question | None  # the question this call asked, if it is ask_user


@dataclass(frozen=True)
class StepInputs:
    """What a step reads, loaded in the lease's own transaction."""

    checkpoint: dict[str, Any] | None  # the state after the last committed step; None before the first
    opening: ChatMessage | None  # the run's own message, when there is no checkpoint yet
    history: list[ChatMessage]  # the session's messages before the run's, a bounded window
    call: CallInputs | None = None  # set for a tool step


@dataclass(frozen=True)
class Acquired:
    lease: Lease | None
    refusal: Refusal | None = None
    next_in_session: str | None = None
    inputs: StepInputs | None = None


@dataclass(frozen=True)
class RecordedCall:
    """What the tool invocations ledger keeps of a call besides its outcome."""

    tool: str
    args: dict[str, Any]
    args_hash: str


@dataclass(frozen=True)
class InvocationUpdate:
    key: str
    status: InvocationStatus  # succeeded | failed | unknown
    result: Any = None
    error: str | None = None
    # Set for a call that recorded no intent before it ran (a read safe to repeat): the commit
    # records the whole invocation, not just its outcome.
    call: RecordedCall | None = None


@dataclass(frozen=True)
class NewApproval:
    call_key: str
    tool: str
    args: dict[str, Any]
    args_hash: str
    tier: str
    requester_id: str
    expires_at: float
    id: str = field(default_factory=lambda: new_id("apr"))


@dataclass(frozen=True)
class NewQuestion:
    call_key: str
    prompt: str
    options: list[str]
    allow_free_text: bool
    asked_of: str
    expires_at: float
    id: str = field(default_factory=lambda: new_id("qst"))


@dataclass(frozen=True)
class AuditNote:
    action: str
    tool: str | None = None
    actor_user_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepOutcome:
    status: RunStatus
    state: dict[str, Any]
    events: list[NewEvent] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    answer: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    invocation: InvocationUpdate | None = None
    approval: NewApproval | None = None
    question: NewQuestion | None = None
    audit: list[AuditNote] = field(default_factory=list)


@dataclass(frozen=True)
class Committed:
    run: Run
    next_in_session: str | None  # a queued run of the same session that may now go
    woken: tuple[str, ...] = ()  # runs the admission limits held that may go now
    kept: Lease | None = None  # the lease, kept for the run's next step (`commit(keep_s=…)`)
    call: CallInputs | None = None  # that next step's gate inputs, when it is a tool step
