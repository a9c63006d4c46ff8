"""Concise text for people, JSON for machines: how the CLI shows runs, their timelines, and the
decisions they wait for."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from core.records import Approval, AuditEntry, Question, Run, RunEvent


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "bot": run.bot,
        "status": run.status.value,
        "step": run.step,
        "session_id": run.session_id,
        "user_id": run.user_id,
        "answer": run.answer,
        "error": {"code": run.error_code, "message": run.error_message} if run.error_code else None,
        "usage": {
            "prompt_tokens": run.prompt_tokens,
            "completion_tokens": run.completion_tokens,
            "cost_usd": round(run.cost_usd, 6),
        },
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
    }


def event_json(event: RunEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "type": event.type,
        "payload": event.payload,
        "created_at": iso(event.created_at),
    }


def run_text(run: Run) -> str:
    lines = [f"{run.id}  {run.bot}  {run.status.value}  step {run.step}"]
    if run.error_code:
        lines.append(f"error: {run.error_code}: {run.error_message}")
    lines.append(f"tokens: {run.prompt_tokens} in / {run.completion_tokens} out, cost ${run.cost_usd:.6f}")
    return "\n".join(lines)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())


def _summary(e: RunEvent) -> str:  # noqa: C901 - one line per event type reads best as one table
    p = e.payload
    if e.type in _GOVERNANCE:
        return _GOVERNANCE[e.type](p)
    match e.type:
        case "RunCreated":
            return f"bot {p.get('bot')} for user {p.get('user_id')} via {p.get('surface')}"
        case "RunStarted":
            return f"worker {p.get('owner')}"
        case "ModelCalled":
            return "models " + " → ".join(p.get("models", []))
        case "ModelResponded":
            calls = p.get("tool_calls") or []
            said = "calls " + ", ".join(c["name"] for c in calls) if calls else _short(p.get("content") or "")
            cost = f"{p.get('prompt_tokens')}+{p.get('completion_tokens')} tokens ${p.get('cost_usd', 0):.6f}"
            return f"{p.get('model')} ({cost}, {p.get('latency_ms')} ms): {said}"
        case "ToolCallProposed":
            return f"{p.get('tool')}({_args(p.get('args', {}))})"
        case "ToolCallRejected":
            return f"{p.get('tool')}: {p.get('code')}: {_short(p.get('reason'))}"
        case "ToolCallStarted":
            return f"{p.get('tool')} attempt {p.get('attempt')}"
        case "ToolCallSucceeded":
            took = (
                f" ({p['duration_ms']} ms)" if p.get("duration_ms") is not None else ""
            )  # answers take none
            return f"{p.get('tool')} → {_short(p.get('result'))}{took}"
        case "ToolCallFailed":
            return f"{p.get('tool')} failed: {p.get('error')}: {_short(p.get('message', ''))}"
        case "ToolCallReplayed":
            return f"{p.get('tool')}: recorded result replayed ({p.get('status')})"
        case "RunCompleted":
            return _short(p.get("answer", ""))
        case "RunFailed" | "RunNeedsReconciliation":
            return f"{p.get('code', p.get('tool', ''))}: {_short(p.get('reason', ''))}"
        case _:
            return _short(p) if p else ""


def timeline_text(events: list[RunEvent]) -> str:
    start = events[0].created_at if events else 0.0
    return "\n".join(
        f"{e.seq:>4}  +{e.created_at - start:8.3f}s  {e.type:<22} {_summary(e)}".rstrip() for e in events
    )


# --- governance: decisions in the timeline ----------------------------------------------------


def _call(p: dict[str, Any]) -> str:
    return f"{p.get('tool')}({_args(p.get('args') or {})})"


def _because(reason: Any) -> str:
    return f": {_short(reason)}" if reason else ""


def _approval_requested(p: dict[str, Any]) -> str:
    asked = f"asked by {p.get('requester')} (approval {p.get('approval_id')})"
    return f"{_call(p)} needs {p.get('tier')} approval, {asked}"


def _approval_decided(p: dict[str, Any]) -> str:
    by = f" by {p['by']}" if p.get("by") else ""
    why = _because(p.get("reason"))
    return f"{p.get('tool')} {p.get('decision')}{by}{why} (approval {p.get('approval_id')})"


def _tool_call_denied(p: dict[str, Any]) -> str:
    return f"{p.get('tool')} not run: {p.get('decision')}{_because(p.get('reason'))}"


def _question_asked(p: dict[str, Any]) -> str:
    options = "  ".join(f"[{i}] {o}" for i, o in enumerate(p.get("options") or [], 1))
    free = "  or free text" if p.get("allow_free_text") else ""
    whose = f"(question {p.get('question_id')}, for {p.get('asked_of')})"
    return f"{_short(p.get('prompt', ''))}  {options}{free}  {whose}"


def _question_answered(p: dict[str, Any]) -> str:
    answer = json.dumps(p.get("answer"), ensure_ascii=False)
    return f"{answer} by {p.get('by')} (question {p.get('question_id')})"


def _question_expired(p: dict[str, Any]) -> str:
    return f"nobody answered question {p.get('question_id')} in time"


def _run_reconciled(p: dict[str, Any]) -> str:
    return f"marked {p.get('decision')} by {p.get('by')}{_because(p.get('note'))}"


def _guardrail_applied(p: dict[str, Any]) -> str:
    findings = ", ".join(p.get("findings") or [])
    return f"{p.get('stage')}: {p.get('guard')} {p.get('action')}" + (f" ({findings})" if findings else "")


def _guardrail_blocked(p: dict[str, Any]) -> str:
    return f"{p.get('stage')} blocked{_because(p.get('reason'))}"


_GOVERNANCE: dict[str, Callable[[dict[str, Any]], str]] = {
    "ApprovalRequested": _approval_requested,
    "ApprovalDecided": _approval_decided,
    "ToolCallDenied": _tool_call_denied,
    "QuestionAsked": _question_asked,
    "QuestionAnswered": _question_answered,
    "QuestionExpired": _question_expired,
    "RunReconciled": _run_reconciled,
    "GuardrailApplied": _guardrail_applied,
    "GuardrailBlocked": _guardrail_blocked,
}


# --- approvals, questions and the audit log ---------------------------------------------------


def approval_json(a: Approval, *, may_decide: bool) -> dict[str, Any]:
    return {
        "id": a.id,
        "run_id": a.run_id,
        "tool": a.tool,
        "args": a.args,
        "tier": a.tier,
        "requester_id": a.requester_id,
        "status": a.status,
        "decided_by": a.decided_by,
        "decided_at": iso(a.decided_at) if a.decided_at is not None else None,
        "reason": a.reason,
        "expires_at": iso(a.expires_at),
        "created_at": iso(a.created_at),
        "may_decide": may_decide,
    }


def approval_text(a: Approval, *, may_decide: bool) -> str:
    decided = f" by {a.decided_by}" if a.decided_by else ""
    mark = "  <- yours to decide" if may_decide else ""
    return (
        f"{a.id}  {a.status}{decided}  {a.tier}  {_call({'tool': a.tool, 'args': a.args})}  "
        f"run {a.run_id}  asked by {a.requester_id}  expires {iso(a.expires_at)}{mark}"
    )


def question_json(q: Question) -> dict[str, Any]:
    return {
        "id": q.id,
        "run_id": q.run_id,
        "prompt": q.prompt,
        "options": q.options,
        "allow_free_text": q.allow_free_text,
        "asked_of": q.asked_of,
        "status": q.status,
        "answer": q.answer,
        "answered_by": q.answered_by,
        "answered_at": iso(q.answered_at) if q.answered_at is not None else None,
        "expires_at": iso(q.expires_at),
    }


def pending_json(item: Approval | Question | None) -> dict[str, Any] | None:
    if item is None:
        return None
    if isinstance(item, Approval):
        return {"kind": "approval", "id": item.id, "tool": item.tool, "args": item.args, "tier": item.tier}
    return {
        "kind": "question",
        "id": item.id,
        "prompt": item.prompt,
        "options": item.options,
        "allow_free_text": item.allow_free_text,
    }


def waiting_text(item: Approval | Question) -> str:
    """What a parked run waits for, and the command that decides it."""
    if isinstance(item, Approval):
        who = "an admin" if item.tier == "admin" else item.requester_id
        return (
            f"waiting for {who} to approve {_call({'tool': item.tool, 'args': item.args})}\n"
            f"  switchboard approve {item.id}    (or: switchboard deny {item.id} --reason TEXT)"
        )
    options = "\n".join(f"  {i}. {o}" for i, o in enumerate(item.options, 1))
    free = "\n  (or answer in your own words)" if item.allow_free_text else ""
    return (
        f"question for {item.asked_of}: {item.prompt}\n{options}{free}\n  switchboard answer {item.id} OPTION"
    )


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "run_id": entry.run_id,
        "actor_user_id": entry.actor_user_id,
        "action": entry.action,
        "tool": entry.tool,
        "detail": entry.detail,
        "created_at": iso(entry.created_at),
    }


def audit_text(entries: list[AuditEntry]) -> str:
    return "\n".join(
        f"{iso(e.created_at)}  {e.action:<20} {e.tool or '-':<14} {e.actor_user_id or '-':<12} "
        f"{e.run_id or '-'}  {_short(e.detail, 100)}".rstrip()
        for e in entries
    )
