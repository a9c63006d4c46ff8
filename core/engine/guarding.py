"""Where the engine applies a bot's guardrails: the run's own input before its first model call,
earlier turns on every call (redaction only), and the answer before it leaves."""

from __future__ import annotations

from dataclasses import replace

from core.bots import Bot
from core.engine.outcomes import failed
from core.engine.state import AgentState, StepContext
from core.events import EventType
from core.governance.guardrails import run_guards
from core.model.port import Message
from core.records import NewEvent
from core.steps import AuditNote, StepOutcome

GuardedInput = tuple[AgentState, list[NewEvent], list[AuditNote]]


def guard_input(bot: Bot, state: AgentState, ctx: StepContext) -> GuardedInput | StepOutcome:
    """On the first model call only: the opening message may be blocked or redacted. The
    checkpoint keeps the redacted text, so the model never sees the original."""
    if state.model_steps > 0 or not state.messages or state.messages[0].get("role") != "user":
        return state, [], []
    opening = state.messages[0]
    report = run_guards(bot.input_guards, str(opening.get("content", "")))
    events = [
        NewEvent(EventType.GUARDRAIL_APPLIED, {"step": ctx.step, "stage": "input", **a})
        for a in report.applied
    ]
    audit = [
        AuditNote(f"guardrail.{a['action']}", None, None, {"stage": "input", **a}) for a in report.applied
    ]
    if report.blocked is not None:
        blocked = NewEvent(
            EventType.GUARDRAIL_BLOCKED, {"step": ctx.step, "stage": "input", "reason": report.blocked}
        )
        return replace(
            failed(state, "guardrail_blocked", report.blocked, events=[*events, blocked]), audit=audit
        )
    if report.text != opening.get("content"):
        state = replace(state, messages=({**opening, "content": report.text}, *state.messages[1:]))
    return state, events, audit


def redact_history(bot: Bot, history: list[Message]) -> list[Message]:
    """Earlier user turns pass the same guards again, redacting only (they were vetted when sent)."""
    cleaned = []
    for message in history:
        if message.get("role") == "user":
            report = run_guards(bot.input_guards, str(message.get("content", "")))
            if report.blocked is None and report.text != message.get("content"):
                message = {**message, "content": report.text}
            elif report.blocked is not None:
                message = {**message, "content": "[message withheld by a guardrail]"}
        cleaned.append(message)
    return cleaned


def guard_output(bot: Bot, answer: str, ctx: StepContext) -> tuple[str, list[NewEvent], list[AuditNote]]:
    report = run_guards(bot.output_guards, answer)
    events = [
        NewEvent(EventType.GUARDRAIL_APPLIED, {"step": ctx.step, "stage": "output", **a})
        for a in report.applied
    ]
    audit = [
        AuditNote(f"guardrail.{a['action']}", None, None, {"stage": "output", **a}) for a in report.applied
    ]
    return report.text, events, audit
