"""Small constructors for step outcomes shared by the model and tool steps."""

from __future__ import annotations

import json
from typing import Any

from core.engine.state import AgentState
from core.events import EventType
from core.lifecycle import RunStatus
from core.records import NewEvent
from core.steps import InvocationUpdate, StepOutcome


def failed(
    state: AgentState, code: str, reason: str, *, events: list[NewEvent] | None = None, **usage: Any
) -> StepOutcome:
    """The run ends failed; the checkpoint keeps the state so a resume can pick it up."""
    return StepOutcome(
        status=RunStatus.FAILED,
        state=state.to_json(),
        events=[*(events or []), NewEvent(EventType.RUN_FAILED, {"code": code, "reason": reason})],
        error_code=code,
        error_message=reason,
        **usage,
    )


def tool_message(call_id: str, content: Any) -> dict[str, Any]:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, default=str)
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def tool_error(call_id: str, code: str, message: str) -> dict[str, Any]:
    return tool_message(call_id, {"error": code, "message": message})


def tool_resolved(
    state: AgentState,
    message: dict[str, Any],
    events: list[NewEvent],
    invocation: InvocationUpdate | None = None,
) -> StepOutcome:
    """The first pending call is resolved: its result goes to the agent, the run goes on."""
    return StepOutcome(
        status=RunStatus.RUNNING,
        state=state.resolve_first(message).to_json(),
        events=events,
        invocation=invocation,
    )
