"""The decision desk: approving or denying tool calls, answering questions, reconciling unknown
side effects. Every surface decides through here, under the same rules; every decision and every
refused attempt is audited.

- a user-tier approval is granted only by the user who asked
- an admin-tier approval is granted only by an admin, never by the one who asked
- anyone who may approve may deny; the requester may always withdraw (deny) their own request
- a question is answered only by the person it was asked of
- reconciliation is for admins
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from core.engine.notifier import RunNotifier
from core.errors import Conflict, Forbidden, InvalidInput
from core.events import EventType
from core.lifecycle import RunStatus
from core.ports import DeskStore
from core.queue.port import TaskQueue
from core.records import (
    Approval,
    ApprovalStatus,
    Decision,
    NewEvent,
    Principal,
    Question,
    QuestionStatus,
    Run,
)
from core.steps import ASK_USER
from core.tiers import Tier

MAX_FREE_TEXT = 2000
RECONCILE_CHOICES = ("done", "not_done", "retry")


def refusal(who: Principal, approval: Approval, approve: bool) -> str | None:
    """Why `who` may not make this decision, or None if they may."""
    own = who.user_id == approval.requester_id
    if not approve and own:
        return None
    if approval.tier == Tier.USER:
        return None if own else "Only the person who asked can approve or deny this."
    if not who.is_admin:
        return "Only an admin can approve or deny this."
    if own:
        return "You cannot approve your own request; another admin must."
    return None


class DecisionDesk:
    def __init__(self, store: DeskStore, queue: TaskQueue, notifier: RunNotifier) -> None:
        self._store = store
        self._queue = queue
        self._notifier = notifier

    async def decide(
        self, who: Principal, approval_id: str, *, approve: bool, reason: str | None = None
    ) -> Approval:
        decisions = self._store.decisions
        approval = await decisions.approval(who.tenant_id, approval_id)
        verdict = ApprovalStatus.APPROVED if approve else ApprovalStatus.DENIED
        detail = {
            "approval_id": approval.id,
            "tool": approval.tool,
            "args": approval.args,
            "tier": approval.tier,
            "decision": verdict,
            "reason": reason,
        }
        why_not = refusal(who, approval, approve)
        if why_not is not None:
            await decisions.record_refusal(
                who.tenant_id,
                "approval.refused",
                who.user_id,
                approval.run_id,
                {**detail, "refusal": why_not},
            )
            raise Forbidden(why_not)
        decision = Decision(
            values={
                "status": verdict,
                "decided_by": who.user_id,
                "decided_at": self._store.clock.now(),
                "reason": reason,
            },
            event=NewEvent(
                EventType.APPROVAL_DECIDED,
                {
                    "approval_id": approval.id,
                    "tool": approval.tool,
                    "decision": verdict,
                    "by": who.user_id,
                    "reason": reason,
                },
            ),
            audit_action=f"approval.{verdict}",
            actor=who.user_id,
            detail=detail,
        )
        await self._apply(decisions.decide_approval, who, approval.id, approval.run_id, decision, detail)
        return await decisions.approval(who.tenant_id, approval_id)

    async def answer(self, who: Principal, question_id: str, answer: str) -> Question:
        decisions = self._store.decisions
        question = await decisions.question(who.tenant_id, question_id)
        detail = {"question_id": question.id, "prompt": question.prompt, "answer": answer, "tool": ASK_USER}
        if who.user_id != question.asked_of:
            why_not = "Only the person this question was asked of can answer it."
            await decisions.record_refusal(
                who.tenant_id,
                "question.refused",
                who.user_id,
                question.run_id,
                {**detail, "refusal": why_not},
            )
            raise Forbidden(why_not)
        chosen = _choose(question, answer)
        decision = Decision(
            values={
                "status": QuestionStatus.ANSWERED,
                "answer": chosen,
                "answered_by": who.user_id,
                "answered_at": self._store.clock.now(),
            },
            event=NewEvent(
                EventType.QUESTION_ANSWERED, {"question_id": question.id, "answer": chosen, "by": who.user_id}
            ),
            audit_action="question.answered",
            actor=who.user_id,
            detail={**detail, "answer": chosen},
        )
        await self._apply(decisions.answer_question, who, question.id, question.run_id, decision, detail)
        return await decisions.question(who.tenant_id, question_id)

    async def reconcile(self, who: Principal, run_id: str, choice: str, note: str | None = None) -> Run:
        run = await self._store.runs.get(who.tenant_id, run_id)
        if not who.is_admin:
            raise Forbidden("Only an admin can reconcile a side effect whose outcome is unknown.")
        if choice not in RECONCILE_CHOICES:
            raise InvalidInput(f"choose one of: {', '.join(RECONCILE_CHOICES)}")
        if run.status is not RunStatus.NEEDS_RECONCILIATION:
            raise Conflict(
                f"run {run_id} is {run.status}, not waiting for reconciliation", code="not_waiting"
            )
        resumed = await self._store.decisions.reconcile(who.tenant_id, run_id, choice, who.user_id, note)
        await self._queue.enqueue(run_id)
        self._notifier.notify(run_id)
        return resumed

    async def _apply(
        self,
        decide: Callable[[str, str, Decision], Awaitable[Run]],
        who: Principal,
        item_id: str,
        run_id: str,
        decision: Decision,
        detail: Mapping[str, object],
    ) -> None:
        try:
            run = await decide(who.tenant_id, item_id, decision)
        except Conflict as exc:
            await self._store.decisions.record_refusal(
                who.tenant_id,
                decision.audit_action.split(".")[0] + ".rejected",
                who.user_id,
                run_id,
                {**detail, "refusal": exc.code},
            )
            raise
        await self._queue.enqueue(run.id)
        self._notifier.notify(run.id)


def _choose(question: Question, answer: str) -> str:
    text = answer.strip()
    for option in question.options:
        if option.lower() == text.lower():
            return option
    if text.isdigit() and 1 <= int(text) <= len(question.options):
        return question.options[int(text) - 1]
    if question.allow_free_text and 0 < len(text) <= MAX_FREE_TEXT:
        return text
    raise InvalidInput("answer with one of: " + ", ".join(question.options))
