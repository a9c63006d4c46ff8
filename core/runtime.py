"""The core's entry points, the same for every surface: submit a message, read a run and its
events, cancel, resume. Every call names who is asking; nobody sees another tenant's runs, and
a member sees only their own."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

from core.admission import Admission
from core.bots import BotRegistry
from core.engine.notifier import RunNotifier
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import EventType
from core.governance.desk import DecisionDesk
from core.ids import new_id
from core.lifecycle import ACTIVE, PARKED, RunStatus
from core.ports import RuntimeStore
from core.queue.port import TaskQueue
from core.records import (
    Approval,
    ApprovalStatus,
    AuditEntry,
    AuditQuery,
    ChatMessage,
    NewEvent,
    NewRun,
    Principal,
    Question,
    QuestionStatus,
    Run,
    RunEvent,
    Submitted,
)
from core.text import check_identifier, clean_text


@dataclass(frozen=True)
class Submission:
    bot: str
    text: str
    surface: str = "api"
    thread_key: str | None = None  # None starts a new session
    idempotency_key: str | None = None
    event_id: str | None = None  # the surface's delivery id, to drop retried webhooks


@dataclass(frozen=True)
class Pending:
    """What a parked run waits for: an approval or a question, by id."""

    kind: Literal["approval", "question"]
    id: str


class Runtime:
    def __init__(
        self,
        store: RuntimeStore,
        bots: BotRegistry,
        queue: TaskQueue,
        notifier: RunNotifier,
        *,
        max_message_chars: int = 16_000,
        admission: Admission | None = None,
    ) -> None:
        self._store = store
        self.admission = admission
        self.bots = bots
        self.queue = queue
        self.notifier = notifier
        self._max_chars = max_message_chars
        self.desk = DecisionDesk(store, queue, notifier)

    async def submit(self, who: Principal, sub: Submission) -> Submitted:
        """Record the message and create its run; returns at once, never waiting on a model."""
        self.bots.get(sub.bot)
        sub = _storable(sub)
        text = sub.text.strip()
        if not text:
            raise InvalidInput("the message is empty")
        if len(text) > self._max_chars:
            raise InvalidInput(f"the message has {len(text)} characters; the limit is {self._max_chars}")
        thread_key = sub.thread_key or new_id("thr")
        submitted = await self._store.runs.submit(
            NewRun(
                tenant_id=who.tenant_id,
                user_id=who.user_id,
                surface=sub.surface,
                thread_key=thread_key,
                bot=sub.bot,
                text=text,
                # A client's key is its own: scoped to the user, so nobody replays a colleague's run.
                idempotency_key=f"{who.user_id}:{sub.idempotency_key}" if sub.idempotency_key else None,
                request_hash=_request_hash(sub) if sub.idempotency_key else None,
                event_id=sub.event_id,
                admit=partial(self.admission.admit_in, who=who) if self.admission is not None else None,
            )
        )
        if submitted.created and submitted.run is not None:
            await self.queue.enqueue(submitted.run.id)
        return submitted

    async def authenticate(self, api_key: str) -> Principal:
        """Who an API key belongs to; raises Unauthorized for an unknown or revoked key."""
        return await self._store.directory.authenticate(api_key)

    def now(self) -> float:
        return self._store.clock.now()

    async def ping(self, timeout_s: float) -> None:
        """Raises StoreUnavailable when the system of record does not answer in time."""
        await self._store.db.ping(timeout_s)

    async def has_conversation(self, tenant_id: str, surface: str, thread_key: str) -> bool:
        """Whether a surface's thread is a conversation with a bot (a reply there is for it)."""
        return await self._store.runs.has_session(tenant_id, surface, thread_key)

    async def run(self, who: Principal, run_id: str) -> Run:
        run = await self._store.runs.get(who.tenant_id, run_id)
        if not who.is_admin and run.user_id != who.user_id:
            raise NotFound(f"no run {run_id}")
        return run

    async def runs(
        self, who: Principal, *, status: RunStatus | None = None, bot: str | None = None, limit: int = 50
    ) -> list[Run]:
        user = None if who.is_admin else who.user_id
        return await self._store.runs.find(who.tenant_id, status=status, bot=bot, user_id=user, limit=limit)

    async def message(self, who: Principal, run_id: str) -> ChatMessage:
        """The message that started the run."""
        run = await self.run(who, run_id)
        return await self._store.runs.message(run.tenant_id, run.message_id)

    async def pending(self, run: Run) -> Pending | None:
        """What a run the caller may see waits for: one small query, only for a parked run."""
        decisions = self._store.decisions
        if run.status is RunStatus.WAITING_APPROVAL:
            found = await decisions.approvals(
                run.tenant_id, status=ApprovalStatus.PENDING, run_id=run.id, limit=1
            )
            return Pending("approval", found[0].id) if found else None
        if run.status is RunStatus.WAITING_INPUT:
            asked = [
                q
                for q in await decisions.questions(run.tenant_id, run_id=run.id)
                if q.status == QuestionStatus.PENDING
            ]
            return Pending("question", asked[-1].id) if asked else None
        return None

    async def events(self, who: Principal, run_id: str, after_seq: int = 0) -> list[RunEvent]:
        await self.run(who, run_id)
        return await self._store.runs.events(who.tenant_id, run_id, after_seq=after_seq)

    async def cancel(self, who: Principal, run_id: str) -> Run:
        run = await self.run(who, run_id)
        if run.status in (RunStatus.COMPLETED, RunStatus.CANCELLED):
            raise Conflict(f"run {run_id} is already {run.status}", code="illegal_transition")
        cancelled, nxt = await self._store.runs.transition(
            who.tenant_id,
            run_id,
            RunStatus.CANCELLED,
            [NewEvent(EventType.RUN_CANCELLED, {"by": who.user_id})],
        )
        await self._store.decisions.cancel_for_run(who.tenant_id, run_id)
        await self._store.audit.record(
            who.tenant_id, "run.cancelled", run_id=run_id, actor_user_id=who.user_id
        )
        self.notifier.notify(run_id)
        if nxt:
            await self.queue.enqueue(nxt)
        return cancelled

    async def resume(self, who: Principal, run_id: str) -> Run:
        """Continue a failed run from its last checkpoint, or nudge an active one. Resume is not
        retry: tool calls already recorded are replayed, never repeated."""
        run = await self.run(who, run_id)
        if run.status in ACTIVE:
            await self.queue.enqueue(run_id)
            return run
        if run.status in PARKED:
            raise Conflict(
                f"run {run_id} is {run.status}: it resumes when someone decides", code="awaiting_decision"
            )
        if run.status is not RunStatus.FAILED:
            raise Conflict(f"run {run_id} is {run.status} and cannot be resumed", code="illegal_transition")
        resumed, _ = await self._store.runs.transition(
            who.tenant_id,
            run_id,
            RunStatus.QUEUED,
            [NewEvent(EventType.RUN_RESUMED, {"by": who.user_id, "after": run.error_code})],
            extra={"error_code": None, "error_message": None, "attempts": 0},
        )
        await self._store.audit.record(who.tenant_id, "run.resumed", run_id=run_id, actor_user_id=who.user_id)
        await self.queue.enqueue(run_id)
        self.notifier.notify(run_id)
        return resumed

    async def decide(
        self, who: Principal, approval_id: str, *, approve: bool, reason: str | None = None
    ) -> Approval:
        return await self.desk.decide(who, approval_id, approve=approve, reason=reason)

    async def answer(self, who: Principal, question_id: str, answer: str) -> Question:
        return await self.desk.answer(who, question_id, answer)

    async def answer_option(self, who: Principal, question_id: str, index: int) -> Question:
        """Answer with the option at `index` (0-based) of those the question offers, as a card's
        button does; the desk decides whether `who` may answer."""
        question = await self._store.decisions.question(who.tenant_id, question_id)
        if not 0 <= index < len(question.options):
            raise InvalidInput("that option is not on offer any more")
        return await self.desk.answer(who, question_id, question.options[index])

    async def reconcile(self, who: Principal, run_id: str, choice: str, note: str | None = None) -> Run:
        return await self.desk.reconcile(who, run_id, choice, note)

    async def approvals(
        self, who: Principal, *, status: str | None = "pending", limit: int = 100
    ) -> list[Approval]:
        """Admins see the tenant's approvals; members see the ones they asked for."""
        found = await self._store.decisions.approvals(who.tenant_id, status=status, limit=limit)
        return found if who.is_admin else [a for a in found if a.requester_id == who.user_id]

    async def approval(self, who: Principal, approval_id: str) -> Approval:
        approval = await self._store.decisions.approval(who.tenant_id, approval_id)
        if not who.is_admin and approval.requester_id != who.user_id:
            raise NotFound(f"no approval {approval_id}")
        return approval

    async def question(self, who: Principal, question_id: str) -> Question:
        """Admins see the tenant's questions; members only the ones asked of them."""
        question = await self._store.decisions.question(who.tenant_id, question_id)
        if not who.is_admin and question.asked_of != who.user_id:
            raise NotFound(f"no question {question_id}")
        return question

    async def audit(self, who: Principal, query: AuditQuery | None = None) -> list[AuditEntry]:
        if not who.is_admin:
            raise Forbidden("the audit log is for admins")
        return await self._store.audit.query(who.tenant_id, query or AuditQuery())

    async def wait(
        self,
        who: Principal,
        run_id: str,
        timeout_s: float = 60.0,
        poll_s: float = 0.5,
        *,
        until: frozenset[RunStatus] | None = None,
    ) -> Run:
        """Block until the run reaches one of `until` (default: any state but queued and running),
        or the timeout passes."""
        done = until or frozenset(RunStatus) - ACTIVE
        deadline = time.monotonic() + timeout_s
        run = await self.run(who, run_id)
        while run.status not in done and time.monotonic() < deadline:
            await self.notifier.wait(run_id, min(poll_s, max(0.0, deadline - time.monotonic())))
            run = await self.run(who, run_id)
        return run


def _storable(sub: Submission) -> Submission:
    """The text policy (core/text.py) at the one ingress of every surface: a chat surface's text
    is cleaned (its user cannot resend; the REST API refused it already); keys are refused."""
    keys = {"thread key": sub.thread_key, "idempotency key": sub.idempotency_key, "event id": sub.event_id}
    for what, key in keys.items():
        if key is not None:
            check_identifier(key, f"the {what}")
    return replace(sub, text=clean_text(sub.text))


def _request_hash(sub: Submission) -> str:
    body = json.dumps([sub.bot, sub.text, sub.surface, sub.thread_key], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()
