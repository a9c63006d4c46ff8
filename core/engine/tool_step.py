"""A tool step: execute the first pending call exactly once, or never twice by accident.

The call is recorded as intent (status `running`, key = run + proposing step + call index, with
a hash of its canonical arguments) before it runs, and its result in the step's commit. Finding
the key again on resume means an earlier worker got that far:

- recorded result, same arguments  → replay it; the tool is not called
- recorded, different arguments    → the run halts (idempotency conflict)
- still `running`, idempotent tool → call again with the same key (the tool dedupes)
- still `running`, any other tool  → outcome unknown: the run waits for a human to reconcile

A read that declares itself idempotent records no intent: it has no side effect to guard, and
a crash before the step's commit only means it is read again. Its invocation is recorded with its
outcome in that commit: one transaction fewer per call, one of the five a model → read → model
run took. This departs from DESIGN.md ("recorded as intent before it executes") on purpose, for
such reads only; every other tool records its intent first.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from core.bots import Bot
from core.engine.failpoints import Failpoints
from core.engine.gate import Cleared, Gate
from core.engine.outcomes import failed, tool_error, tool_message, tool_resolved
from core.engine.state import AgentState, PendingCall, StepContext
from core.errors import ToolTimeout
from core.events import EventType
from core.lifecycle import RunStatus
from core.ports import Schedules, StepFaces
from core.records import InvocationStatus, NewEvent, ToolInvocation
from core.resilience.tools import GuardedTools
from core.steps import ASK_USER, AuditNote, CallInputs, InvocationUpdate, Lease, RecordedCall, StepOutcome
from core.tiers import RiskLevel
from core.tools.arguments import args_hash
from core.tools.spec import ToolContext, ToolSpec


class ToolStep:
    def __init__(
        self,
        steps: StepFaces,
        gate: Gate,
        failpoints: Failpoints,
        tools: GuardedTools | None = None,
        schedules: Schedules | None = None,
    ) -> None:
        self._steps = steps
        self._schedules = schedules  # handed to the schedule tools (ToolContext.schedules)
        self._gate = gate
        self._failpoints = failpoints
        self._tools = tools or GuardedTools()  # a breaker per tool

    async def run(
        self,
        lease: Lease,
        bot: Bot,
        spec: ToolSpec | None,
        found: CallInputs,
        state: AgentState,
        ctx: StepContext,
    ) -> StepOutcome:
        call = state.pending[0]
        if spec is None:  # the bot lost this tool between proposal and execution
            message = tool_error(
                call.call_id, "unknown_tool", f"the tool {call.name!r} is no longer available"
            )
            return tool_resolved(
                state, message, [_event(EventType.TOOL_CALL_FAILED, call, ctx, error="unknown_tool")]
            )
        if call.name == ASK_USER:
            return self._gate.ask(lease.run, call, found, state, ctx)
        cleared = self._gate.check(lease.run, bot, spec, call, found, state, ctx)
        if not isinstance(cleared, Cleared):
            return cleared
        call = replace(call, args=cleared.args)  # exactly what was approved, never regenerated
        what = RecordedCall(call.name, call.args, args_hash(call.args))
        started = _event(EventType.TOOL_CALL_STARTED, call, ctx, attempt=1, args=call.args)
        if spec.risk is RiskLevel.READ and spec.idempotent:
            outcome = await self._execute(lease, spec, call, state, ctx)
            return _recorded_at_commit(outcome, started, what)
        self._failpoints.hit("before_intent")
        recorded = await self._steps.claim_invocation(lease, call.key, what, started)
        if recorded is None:
            self._failpoints.hit("after_intent")
            return await self._execute(lease, spec, call, state, ctx)
        if recorded.args_hash != what.args_hash:
            reason = f"idempotency key {call.key} was recorded with different arguments for {recorded.tool}"
            return failed(state, "idempotency_conflict", reason)
        if recorded.status in (InvocationStatus.SUCCEEDED, InvocationStatus.FAILED):
            return _replay(state, call, recorded, ctx)
        if spec.idempotent or recorded.status == InvocationStatus.RETRY:
            attempt = recorded.attempts + 1
            retried = _event(EventType.TOOL_CALL_STARTED, call, ctx, attempt=attempt, args=call.args)
            await self._steps.record_retry(lease, call.key, retried)
            return await self._execute(lease, spec, call, state, ctx)
        return _unknown(state, call, ctx, "the worker running this call stopped before recording its outcome")

    async def _execute(
        self, lease: Lease, spec: ToolSpec, call: PendingCall, state: AgentState, ctx: StepContext
    ) -> StepOutcome:
        run = lease.run
        tool_ctx = ToolContext(
            tenant_id=run.tenant_id,
            user_id=run.user_id,
            run_id=run.id,
            idempotency_key=call.key,
            bot=run.bot,
            surface=run.surface,
            schedules=self._schedules,
        )
        started = time.perf_counter()
        try:
            result = await self._tools.invoke(spec, call.args, tool_ctx)
        except ToolTimeout as exc:
            if not spec.idempotent:
                return _unknown(state, call, ctx, exc.message)
            return _failure(state, call, ctx, exc.code, exc.message, started)
        except Exception as exc:  # the tool's own failure goes back to the agent as its result
            return _failure(state, call, ctx, type(exc).__name__, str(exc) or type(exc).__name__, started)
        self._failpoints.hit("after_call")
        duration = round((time.perf_counter() - started) * 1000, 2)
        event = _event(EventType.TOOL_CALL_SUCCEEDED, call, ctx, result=result, duration_ms=duration)
        invocation = InvocationUpdate(call.key, InvocationStatus.SUCCEEDED, result=result)
        outcome = tool_resolved(state, tool_message(call.call_id, result), [event], invocation)
        return replace(outcome, audit=[_executed(call, InvocationStatus.SUCCEEDED)])


def _recorded_at_commit(outcome: StepOutcome, started: NewEvent, call: RecordedCall) -> StepOutcome:
    assert outcome.invocation is not None, "an executed call has an outcome to record"
    return replace(
        outcome,
        events=[started, *outcome.events],
        invocation=replace(outcome.invocation, call=call),
    )


def _event(kind: EventType, call: PendingCall, ctx: StepContext, **extra: Any) -> NewEvent:
    return NewEvent(kind, {"step": ctx.step, "key": call.key, "tool": call.name, **extra})


def _failure(
    state: AgentState, call: PendingCall, ctx: StepContext, code: str, message: str, started: float
) -> StepOutcome:
    duration = round((time.perf_counter() - started) * 1000, 2)
    event = _event(EventType.TOOL_CALL_FAILED, call, ctx, error=code, message=message, duration_ms=duration)
    invocation = InvocationUpdate(call.key, InvocationStatus.FAILED, error=f"{code}: {message}")
    outcome = tool_resolved(state, tool_error(call.call_id, code, message), [event], invocation)
    return replace(outcome, audit=[_executed(call, InvocationStatus.FAILED, error=code)])


def _executed(call: PendingCall, status: InvocationStatus, **detail: Any) -> AuditNote:
    return AuditNote(
        "tool.executed", call.name, None, {"key": call.key, "args": call.args, "status": status, **detail}
    )


def _replay(state: AgentState, call: PendingCall, recorded: ToolInvocation, ctx: StepContext) -> StepOutcome:
    event = _event(EventType.TOOL_CALL_REPLAYED, call, ctx, status=recorded.status)
    if recorded.status == InvocationStatus.SUCCEEDED:
        message = tool_message(call.call_id, recorded.result)
    else:
        code, _, text = (recorded.error or "error: failed").partition(": ")
        message = tool_error(call.call_id, code, text)
    return tool_resolved(state, message, [event])


def _unknown(state: AgentState, call: PendingCall, ctx: StepContext, reason: str) -> StepOutcome:
    """Never repeat a non-idempotent side effect blindly: stop and ask a human."""
    return StepOutcome(
        status=RunStatus.NEEDS_RECONCILIATION,
        state=state.to_json(),
        events=[
            _event(EventType.TOOL_CALL_OUTCOME_UNKNOWN, call, ctx, reason=reason, args=call.args),
            NewEvent(
                EventType.RUN_NEEDS_RECONCILIATION, {"key": call.key, "tool": call.name, "reason": reason}
            ),
        ],
        invocation=InvocationUpdate(call.key, InvocationStatus.UNKNOWN, error=reason),
        audit=[_executed(call, InvocationStatus.UNKNOWN, reason=reason)],
    )
