"""Concise text for people: how the CLI shows what the REST API returns (runs, their timelines,
the decisions they wait for, the audit log). `--json` prints the API's own JSON instead."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from service.cli.output import paint, status, table


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def when(iso: str | None) -> str:
    """An API timestamp as people read it: `2026-12-07 17:30:05Z`."""
    return iso.replace("T", " ")[:19] + "Z" if iso else "-"


# Events worth a glance in a coloured timeline: failures, and a run starting to wait on a person.
_EVENT_COLOURS = {
    "RunFailed": "red",
    "ToolCallFailed": "red",
    "ApprovalRequested": "yellow",
    "QuestionAsked": "yellow",
}


def run_text(run: dict[str, Any]) -> str:
    lines = [f"{run['id']}  {run['bot']}  {status(run['status'])}  step {run['step']}"]
    if run.get("error"):
        lines.append(f"error: {run['error']['code']}: {run['error']['message']}")
    usage = run.get("usage") or {}
    lines.append(
        f"tokens: {usage.get('prompt_tokens', 0)} in / {usage.get('completion_tokens', 0)} out, "
        f"cost ${usage.get('cost_usd', 0.0):.6f}"
    )
    return "\n".join(lines)


def outcome_text(run: dict[str, Any], waiting: dict[str, Any] | None) -> str:
    """Where a run is now: its answer, or what it waits for and how to decide it."""
    if run["status"] == "completed":
        return f"run {run['id']} completed:\n{run['answer']}"
    return run_text(run) + (f"\n{waiting_text(waiting)}" if waiting else "")


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())


def _summary(e: dict[str, Any]) -> str:  # noqa: C901 - one line per event type reads best as one table
    p = e.get("payload") or {}
    kind = e.get("type", "")
    if kind in _GOVERNANCE:
        return _GOVERNANCE[kind](p)
    match kind:
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


def timeline_text(events: list[dict[str, Any]]) -> str:
    """One line per event (the API's `EventView`s): seq, seconds since the first, type, summary."""
    start = epoch(events[0]["created_at"]) if events else 0.0
    return "\n".join(timeline_line(e, start) for e in events)


def timeline_line(e: dict[str, Any], start: float) -> str:
    kind = paint(f"{e['type']:<22}", _EVENT_COLOURS.get(e["type"]))  # padded first: escapes have no width
    return f"{e['seq']:>4}  +{epoch(e['created_at']) - start:8.3f}s  {kind} {_summary(e)}".rstrip()


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


def approvals_table(approvals: list[dict[str, Any]]) -> str:
    rows = [
        [
            a["id"],
            a["status"],
            a["tier"],
            _short(_call(a), 60),
            a["run_id"],
            a["requester_id"],
            when(a["expires_at"]),
            "yes" if a.get("may_decide") else "",
        ]
        for a in approvals
    ]
    headers = ["ID", "STATUS", "TIER", "CALL", "RUN", "ASKED BY", "EXPIRES", "YOURS"]
    return table(headers, rows, colour_column=1)


def waiting_text(item: dict[str, Any]) -> str:
    """What a parked run waits for (an `ApprovalView` or `QuestionView` with its `kind`), and the
    command that decides it."""
    if item.get("kind") == "approval":
        who = "an admin" if item["tier"] == "admin" else item["requester_id"]
        return (
            f"waiting for {who} to approve {_call(item)}\n"
            f"  switchboard approve {item['id']}    (or: switchboard deny {item['id']} --reason TEXT)"
        )
    if item.get("kind") == "question":
        options = "\n".join(f"  {i}. {o}" for i, o in enumerate(item["options"], 1))
        free = "\n  (or answer in your own words)" if item["allow_free_text"] else ""
        return (
            f"question for {item['asked_of']}: {item['prompt']}\n{options}{free}\n"
            f"  switchboard answer {item['id']} OPTION"
        )
    return f"waiting for a reconciliation:\n  switchboard reconcile {item.get('run_id', 'RUN_ID')} done|not_done|retry"


def audit_table(entries: list[dict[str, Any]]) -> str:
    rows = [
        [
            when(e["created_at"]),
            e["action"],
            e.get("tool") or "-",
            e.get("actor_user_id") or "-",
            e.get("run_id") or "-",
            _short(e["detail"], 80),
        ]
        for e in entries
    ]
    return table(["TIME", "ACTION", "TOOL", "WHO", "RUN", "DETAIL"], rows)
