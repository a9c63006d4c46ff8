"""The approval gate and questions: what happens to a pending call before anything executes.

The runtime decides, not the prompt: a call whose tier is above `auto` runs only once the right
person approved exactly these arguments; `ask_user` parks the run until its question is answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.bots import Bot
from core.clock import Clock
from core.engine.outcomes import tool_error, tool_message, tool_resolved
from core.engine.state import AgentState, PendingCall, StepContext
from core.events import EventType
from core.governance.ask import option_problem
from core.lifecycle import RunStatus
from core.records import Approval, ApprovalStatus, NewEvent, QuestionStatus, Run
from core.steps import AuditNote, CallInputs, NewApproval, NewQuestion, StepOutcome
from core.tiers import Tier, required_tier
from core.tools.arguments import args_hash
from core.tools.spec import ToolSpec


@dataclass(frozen=True)
class GateOptions:
    approval_ttl_s: float = 24 * 3600
    question_ttl_s: float = 24 * 3600


@dataclass(frozen=True)
class Cleared:
    """The call may run, with these (approved) arguments."""

    args: dict[str, Any]


class Gate:
    """Pure decisions over what the lease's transaction read (`CallInputs`); no I/O of its own."""

    def __init__(self, clock: Clock, options: GateOptions) -> None:
        self._clock = clock
        self._options = options

    def check(
        self,
        run: Run,
        bot: Bot,
        spec: ToolSpec,
        call: PendingCall,
        found: CallInputs,
        state: AgentState,
        ctx: StepContext,
    ) -> Cleared | StepOutcome:
        rules = found.rules
        tier = required_tier(
            spec.risk, call.name, call.args, bot_tier=bot.tool_tiers.get(call.name), rules=rules
        )
        if tier is Tier.AUTO:
            return Cleared(call.args)
        approval = found.approval
        if approval is None:
            return self._request(run, call, tier, state, ctx)
        if approval.status == ApprovalStatus.APPROVED:
            if approval.args_hash != args_hash(call.args):
                return StepOutcome(
                    status=RunStatus.FAILED,
                    state=state.to_json(),
                    error_code="approval_mismatch",
                    error_message="the approved arguments differ from the pending call's",
                    events=[NewEvent(EventType.RUN_FAILED, {"code": "approval_mismatch"})],
                )
            return Cleared(approval.args)
        if approval.status == ApprovalStatus.PENDING:  # woken without a decision: ask nobody twice
            return StepOutcome(status=RunStatus.WAITING_APPROVAL, state=state.to_json())
        return _refused(approval, call, state, ctx)

    def _request(
        self, run: Run, call: PendingCall, tier: Tier, state: AgentState, ctx: StepContext
    ) -> StepOutcome:
        approval = NewApproval(
            call_key=call.key,
            tool=call.name,
            args=call.args,
            args_hash=args_hash(call.args),
            tier=tier.value,
            requester_id=run.user_id,
            expires_at=self._clock.now() + self._options.approval_ttl_s,
        )
        detail = {
            "approval_id": approval.id,
            "key": call.key,
            "tool": call.name,
            "args": call.args,
            "tier": tier.value,
            "requester": run.user_id,
            "expires_at": approval.expires_at,
        }
        return StepOutcome(
            status=RunStatus.WAITING_APPROVAL,
            state=state.to_json(),
            events=[NewEvent(EventType.APPROVAL_REQUESTED, {"step": ctx.step, **detail})],
            approval=approval,
            audit=[AuditNote("approval.requested", call.name, run.user_id, detail)],
        )

    def ask(
        self, run: Run, call: PendingCall, found: CallInputs, state: AgentState, ctx: StepContext
    ) -> StepOutcome:
        question = found.question
        if question is None:
            problem = option_problem(call.args)
            if problem is not None:
                event = NewEvent(
                    EventType.TOOL_CALL_FAILED,
                    {
                        "step": ctx.step,
                        "key": call.key,
                        "tool": call.name,
                        "error": "invalid_question",
                        "message": problem,
                    },
                )
                return tool_resolved(state, tool_error(call.call_id, "invalid_question", problem), [event])
            new = NewQuestion(
                call_key=call.key,
                prompt=str(call.args["question"]),
                options=[str(o).strip() for o in call.args["options"]],
                allow_free_text=bool(call.args.get("allow_free_text", False)),
                asked_of=run.user_id,
                expires_at=self._clock.now() + self._options.question_ttl_s,
            )
            detail = {
                "question_id": new.id,
                "key": call.key,
                "prompt": new.prompt,
                "options": new.options,
                "allow_free_text": new.allow_free_text,
                "asked_of": run.user_id,
                "expires_at": new.expires_at,
            }
            return StepOutcome(
                status=RunStatus.WAITING_INPUT,
                state=state.to_json(),
                question=new,
                events=[NewEvent(EventType.QUESTION_ASKED, {"step": ctx.step, **detail})],
                audit=[AuditNote("question.asked", call.name, run.user_id, detail)],
            )
        if question.status == QuestionStatus.ANSWERED:
            result = {"answer": question.answer, "answered_by": question.answered_by}
            event = NewEvent(
                EventType.TOOL_CALL_SUCCEEDED,
                {"step": ctx.step, "key": call.key, "tool": call.name, "result": result},
            )
            return tool_resolved(state, tool_message(call.call_id, result), [event])
        if question.status == QuestionStatus.PENDING:
            return StepOutcome(status=RunStatus.WAITING_INPUT, state=state.to_json())
        message = tool_error(
            call.call_id,
            "question_" + question.status,
            "the user did not answer in time"
            if question.status == QuestionStatus.EXPIRED
            else "the question was withdrawn",
        )
        event = NewEvent(
            EventType.TOOL_CALL_FAILED,
            {"step": ctx.step, "key": call.key, "tool": call.name, "error": "question_" + question.status},
        )
        return tool_resolved(state, message, [event])


def _refused(approval: Approval, call: PendingCall, state: AgentState, ctx: StepContext) -> StepOutcome:
    """A denial (or an expiry) goes back to the agent as the tool's result, so it can explain."""
    code = "denied" if approval.status == ApprovalStatus.DENIED else f"approval_{approval.status}"
    expired = approval.status == ApprovalStatus.EXPIRED
    reason = approval.reason or ("nobody approved it in time" if expired else "")
    payload = {
        "error": code,
        "message": f"{call.name} was not run: {approval.status}" + (f" ({reason})" if reason else ""),
        "decided_by": approval.decided_by,
    }
    event = NewEvent(
        EventType.TOOL_CALL_DENIED,
        {"step": ctx.step, "key": call.key, "tool": call.name, "decision": approval.status, "reason": reason},
    )
    return tool_resolved(state, tool_message(call.call_id, payload), [event])
