"""What a step worker does in SQL: take a lease, read the checkpoint, record a tool intent, commit.

Every write after the lease is fenced: it holds only while the run's fence still equals the one
this worker was given and its lease has not expired. A worker that lost its lease (paused, slow,
partitioned) gets `StaleLease` and writes nothing. Time is read inside each transaction, after
SQLite's write lock is taken, so a worker that waited on the lock does not judge leases by a
stale clock.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Row, insert, select, update

from core.clock import Clock
from core.errors import StaleLease
from core.events import EventType
from core.ids import new_id
from core.lifecycle import ACTIVE, RunStatus, check_transition
from core.outbound import Renderers
from core.records import (
    ApprovalStatus,
    ChatMessage,
    InvocationStatus,
    NewEvent,
    QuestionStatus,
    Run,
    ToolInvocation,
)
from core.steps import (
    ASK_USER,
    Acquired,
    CallInputs,
    Committed,
    InvocationUpdate,
    Lease,
    RecordedCall,
    Refusal,
    StepInputs,
    StepOutcome,
)
from core.store import fused
from core.store import statements as sql
from core.store.audit import write_audit
from core.store.database import Database
from core.store.decisions import approval_from_row, question_from_row
from core.store.policies import rule_from_row
from core.store.rows import append_events, numbered, queue_rendered, run_from_row, update_run
from core.store.runs import message_window, opening_and_window, release_turn, split_window
from core.store.schema import approvals, questions, runs, tool_invocations
from core.store.sql import insert_ignore


class Admission(Protocol):
    """The admission limits' hooks into the lease (core/admission.py), each inside the step's own
    transaction."""

    @property
    def limited(self) -> bool:
        """Whether `gate` may hold runs back: then `acquire` reads the running counts it starts
        from with the run's row (`statements.LOCK_RUN_COUNTED`), one statement fewer."""
        ...

    def gate(
        self, conn: Connection, run: Run, now: float, running: tuple[int, int] | None = None
    ) -> Refusal | None:
        """Asked in `acquire`, with the run's row locked: may the run step now?"""
        ...

    def released(self, conn: Connection, run: Run) -> list[str]:
        """Told in `commit` that the run stopped running: the held runs that may go now."""
        ...

    @property
    def wakes(self) -> int:
        """How many held runs `released` wakes at most (0: no limits, none are ever held). On
        PostgreSQL the commit wakes them in its own statement instead of calling `released`."""
        ...


class StepStore:
    def __init__(self, db: Database, clock: Clock, renderers: Renderers | None = None) -> None:
        self._db = db
        self._clock = clock
        self._renderers = renderers
        self.admission: Admission | None = None

    async def acquire(
        self, run_id: str, owner: str, lease_s: float, max_attempts: int, history: int = 20
    ) -> Acquired:
        def _tx(conn: Connection) -> Any:
            now = self._clock.now()
            counted = self.admission is not None and self.admission.limited
            before = conn.execute(
                sql.LOCK_RUN_COUNTED if counted else sql.LOCK_RUN, {"b_run": run_id}
            ).first()
            if before is None:
                return Acquired(None, Refusal.GONE)
            prior = run_from_row(before)
            if prior.status not in ACTIVE or (
                prior.lease_expires_at is not None and prior.lease_expires_at >= now
            ):
                return Acquired(None, Refusal.GONE)
            if self.admission is not None:
                running = (before.running_in_tenant, before.running_for_user) if counted else None
                if (refusal := self.admission.gate(conn, prior, now, running)) is not None:
                    return Acquired(None, refusal)
            events = _acquire_events(prior, owner, max_attempts)
            if conn.dialect.name == "postgresql" and prior.attempts + 1 <= max_attempts:
                return self._lease_fused(conn, prior, owner, events, now + lease_s, history, now)
            if prior.status is RunStatus.QUEUED and not _claim_turn(conn, prior):
                return Acquired(None, Refusal.NOT_YOUR_TURN)
            if prior.attempts + 1 > max_attempts:
                return self._dead_letter(conn, prior, events, now)
            params = {
                "b_run": run_id,
                "b_owner": owner,
                "b_expires": now + lease_s,
                "b_events": len(events),
                "b_now": now,
            }
            run = run_from_row(conn.execute(sql.TAKE_LEASE, params).one())
            if events:
                append_events(conn, run, numbered(run, events, now), self._renderers)
            lease = Lease(run=run, owner=owner, fence=run.fence, expires_at=now + lease_s)
            return Acquired(lease, inputs=_inputs(conn, run, history))

        acquired: Acquired = await self._db.run(_tx)
        return acquired

    def _lease_fused(
        self,
        conn: Connection,
        prior: Run,
        owner: str,
        events: list[NewEvent],
        expires: float,
        history: int,
        now: float,
    ) -> Acquired:
        """The turn, the lease, its events and (before the first step) the step's inputs in one
        statement (PostgreSQL; see core/store/fused.py)."""
        window = prior.step == 0
        params: dict[str, Any] = {
            "b_run": prior.id,
            "b_owner": owner,
            "b_expires": expires,
            "b_events": len(events),
            "b_now": now,
            "b_event_rows": [{"type": e.type, "payload": e.payload} for e in events],
            "b_session": prior.session_id,
            "b_tenant": prior.tenant_id,
            "b_before": prior.message_id,
            "b_limit": history + 1,
        }
        row = conn.execute(fused.take_lease(prior.status is RunStatus.QUEUED, window), params).first()
        if row is None:  # the session's turn belongs to another run
            return Acquired(None, Refusal.NOT_YOUR_TURN)
        run = run_from_row(row)
        queue_rendered(conn, run, numbered(run, events, now), self._renderers)
        lease = Lease(run=run, owner=owner, fence=run.fence, expires_at=expires)
        if not window:
            return Acquired(lease, inputs=_inputs(conn, run, history))
        rows = [_chat_message(m) for m in row.window or []]
        return Acquired(lease, inputs=StepInputs(None, *split_window(rows, run.message_id, history)))

    def _dead_letter(self, conn: Connection, prior: Run, events: list[NewEvent], now: float) -> Acquired:
        values = {
            "fence": runs.c.fence + 1,
            "attempts": runs.c.attempts + 1,
            "status": RunStatus.FAILED.value,
            "error_code": "dead_letter",
            "error_message": events[-1].payload["reason"],
            "lease_owner": None,
            "lease_expires_at": None,
        }
        run = update_run(
            conn,
            renderers=self._renderers,
            run_id=prior.id,
            tenant_id=prior.tenant_id,
            values=values,
            events=events,
            now=now,
        )
        assert run is not None  # the row is locked by this transaction
        return Acquired(None, Refusal.DEAD_LETTERED, release_turn(conn, run))

    async def heartbeat(self, lease: Lease, lease_s: float) -> bool:
        def extend(conn: Connection) -> bool:
            now = self._clock.now()
            params = {**_fence(lease, now), "b_expires": now + lease_s}
            return bool(conn.execute(sql.HEARTBEAT, params).rowcount)

        extended: bool = await self._db.run(extend)
        return extended

    async def invocation(self, tenant_id: str, key: str) -> ToolInvocation | None:
        stmt = select(tool_invocations).where(
            tool_invocations.c.tenant_id == tenant_id, tool_invocations.c.idempotency_key == key
        )
        r = await self._db.run(lambda conn: conn.execute(stmt).first())
        return _invocation(r) if r else None

    async def claim_invocation(
        self, lease: Lease, key: str, call: RecordedCall, event: NewEvent
    ) -> ToolInvocation | None:
        """Record the intent to call a tool, before calling it. Returns None when the intent is
        new; otherwise the invocation an earlier attempt recorded under this key, untouched."""

        def _tx(conn: Connection) -> Any:
            now = self._clock.now()
            intent = _invocation_row(lease.run, key, call, InvocationStatus.RUNNING, now)
            if insert_ignore(conn, tool_invocations, intent):
                self._touch(conn, lease, now, [event])
                return None
            stmt = select(tool_invocations).where(
                tool_invocations.c.tenant_id == lease.run.tenant_id, tool_invocations.c.idempotency_key == key
            )
            return _invocation(conn.execute(stmt).one())

        return await self._db.run(_tx)

    async def record_retry(self, lease: Lease, key: str, event: NewEvent) -> None:
        """Another attempt of an idempotent tool whose earlier attempt's outcome was lost."""

        def _tx(conn: Connection) -> Any:
            now = self._clock.now()
            self._touch(conn, lease, now, [event])
            conn.execute(
                update(tool_invocations)
                .where(tool_invocations.c.idempotency_key == key)
                .values(attempts=tool_invocations.c.attempts + 1, updated_at=now)
            )

        await self._db.run(_tx)

    async def abandon(self, lease: Lease) -> None:
        """Let the lease lapse now, so the sweeper retries the step without waiting it out."""

        def _tx(conn: Connection) -> Any:
            now = self._clock.now()
            conn.execute(
                update(runs)
                .where(runs.c.id == lease.run.id, *self._fenced(lease, now))
                .values(lease_expires_at=now - 1)
            )

        await self._db.run(_tx)

    async def commit(self, lease: Lease, outcome: StepOutcome, keep_s: float | None = None) -> Committed:
        """Events, checkpoint, tool result, answer and the step counter: all or nothing.

        `keep_s`: when the run goes on running, keep the lease this much longer instead of giving
        it back, and read what its next step needs in the same transaction. The worker then takes
        that step at once, without another lease round trip or re-reading the checkpoint it has
        just written."""
        check_transition(RunStatus.RUNNING, outcome.status)
        keep = keep_s is not None and outcome.status is RunStatus.RUNNING

        def commit(conn: Connection) -> Committed:
            now = self._clock.now()
            params = {
                **_fence(lease, now),
                "b_status": outcome.status.value,
                "b_prompt_tokens": outcome.prompt_tokens,
                "b_completion_tokens": outcome.completion_tokens,
                "b_cost": outcome.cost_usd,
                "b_answer": outcome.answer,
                "b_error_code": outcome.error_code,
                "b_error_message": outcome.error_message,
                "b_events": len(outcome.events),
            }
            if keep:
                params["b_expires"] = now + (keep_s or 0.0)
            # Its first pending call became first in this very step (proposed by the model, or
            # next after the call this step resolved): the gate has not seen it yet.
            pending = outcome.state.get("pending") if keep else None
            if conn.dialect.name == "postgresql":
                run, row = self._write_fused(conn, lease, outcome, keep, params, now)
                _record_decisions(conn, run, outcome, now)
                rules = [rule_from_row(SimpleNamespace(**r)) for r in row.rules or []] if pending else []
                call = CallInputs(rules, None, None) if pending else None
                woken = tuple(row.woken or ()) if "woken" in row._fields else ()
                next_in_session = row.next_in_session if "next_in_session" in row._fields else None
            else:
                run = self._write_each(conn, lease, outcome, keep, params, now)
                _record_decisions(conn, run, outcome, now)
                call = _call_inputs(conn, run, pending[0], gated=False) if pending else None
                woken, next_in_session = (), None
                if not keep and outcome.status not in ACTIVE:
                    woken = tuple(self.admission.released(conn, run)) if self.admission is not None else ()
                    next_in_session = release_turn(conn, run)
            if keep:
                kept = Lease(run=run, owner=lease.owner, fence=lease.fence, expires_at=params["b_expires"])
                return Committed(run=run, next_in_session=None, kept=kept, call=call)
            return Committed(run=run, next_in_session=next_in_session, woken=woken)

        committed: Committed = await self._db.run(commit)
        return committed

    def _write_each(
        self,
        conn: Connection,
        lease: Lease,
        outcome: StepOutcome,
        keep: bool,
        params: dict[str, Any],
        now: float,
    ) -> Run:
        """The commit's writes one statement at a time (SQLite: no data-modifying CTEs)."""
        row = conn.execute(sql.COMMIT_KEEP if keep else sql.COMMIT, params).first()
        if row is None:
            raise StaleLease(f"run {lease.run.id}: lease lost before commit")
        run = run_from_row(row)
        if outcome.events:
            append_events(conn, run, numbered(run, outcome.events, now), self._renderers)
        conn.execute(
            sql.INSERT_CHECKPOINT,
            {
                "run_id": run.id,
                "step": run.step,
                "tenant_id": run.tenant_id,
                "state": outcome.state,
                "created_at": now,
            },
        )
        if outcome.invocation is not None:
            _record_outcome(conn, run, outcome.invocation, now)
        if outcome.answer is not None:
            conn.execute(
                sql.INSERT_MESSAGE,
                {
                    "id": new_id("msg"),
                    "tenant_id": run.tenant_id,
                    "session_id": run.session_id,
                    "run_id": run.id,
                    "user_id": None,
                    "role": "assistant",
                    "content": outcome.answer,
                    "created_at": now,
                },
            )
        for note in outcome.audit:
            write_audit(
                conn,
                tenant_id=run.tenant_id,
                action=note.action,
                now=now,
                run_id=run.id,
                actor_user_id=note.actor_user_id,
                tool=note.tool,
                detail=note.detail,
            )
        return run

    def _write_fused(
        self,
        conn: Connection,
        lease: Lease,
        outcome: StepOutcome,
        keep: bool,
        params: dict[str, Any],
        now: float,
    ) -> tuple[Run, Row[Any]]:
        """The same writes as `_write_each` in one statement (PostgreSQL; see core/store/fused.py).
        When the run stopped running, the turn is given up in it too, and the row names the
        session's next queued run (`next_in_session`) and the held runs woken (`woken`); when the
        lease is kept for a pending call, it carries the call's policy rules (`rules`)."""
        inv = outcome.invocation
        release = not keep and outcome.status not in ACTIVE
        wakes = self.admission.wakes if self.admission is not None and release else 0
        pending = outcome.state.get("pending") if keep else None
        shape = fused.Shape(
            keep=keep,
            answer=outcome.answer is not None,
            invocation=None if inv is None else ("upsert" if inv.call is not None else "update"),
            audit=bool(outcome.audit),
            release=release,
            wake=wakes > 0,
            rules=bool(pending),
        )
        values = {
            **params,
            "b_tenant": lease.run.tenant_id,
            "b_user": lease.run.user_id,
            "b_wake": wakes,
            "b_tool": pending[0]["name"] if pending else None,
            "b_event_rows": [{"type": e.type, "payload": e.payload} for e in outcome.events],
            "b_state": outcome.state,
            "b_message_id": new_id("msg"),
            "b_session": lease.run.session_id,
        }
        if outcome.audit:
            values["b_audit_rows"] = [
                {
                    "id": new_id("aud"),
                    "actor_user_id": note.actor_user_id,
                    "action": note.action,
                    "tool": note.tool,
                    "detail": note.detail or {},
                }
                for note in outcome.audit
            ]
        if inv is not None:
            values |= {"b_inv_key": inv.key, "b_inv_status": inv.status, "b_inv_result": inv.result}
            values["b_inv_error"] = inv.error
            if inv.call is not None:
                values |= {
                    "b_inv_tool": inv.call.tool,
                    "b_inv_hash": inv.call.args_hash,
                    "b_inv_args": inv.call.args,
                }
        row = conn.execute(fused.commit(shape), values).first()
        if row is None:
            raise StaleLease(f"run {lease.run.id}: lease lost before commit")
        run = run_from_row(row)
        queue_rendered(conn, run, numbered(run, outcome.events, now), self._renderers)
        return run, row

    @staticmethod
    def _fenced(lease: Lease, now: float) -> list[ColumnElement[bool]]:
        return [
            runs.c.fence == lease.fence,
            runs.c.lease_owner == lease.owner,
            runs.c.lease_expires_at >= now,
            runs.c.status == RunStatus.RUNNING.value,
        ]

    def _touch(self, conn: Connection, lease: Lease, now: float, events: list[NewEvent]) -> None:
        row = conn.execute(sql.TOUCH, {**_fence(lease, now), "b_events": len(events)}).first()
        if row is None:
            raise StaleLease(f"run {lease.run.id}: lease lost")
        run = run_from_row(row)
        append_events(conn, run, numbered(run, events, now), self._renderers)


def _invocation_row(
    run: Run, key: str, call: RecordedCall, status: InvocationStatus, now: float
) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "tenant_id": run.tenant_id,
        "run_id": run.id,
        "tool": call.tool,
        "args_hash": call.args_hash,
        "args": call.args,
        "status": status,
        "attempts": 1,
        "created_at": now,
        "updated_at": now,
    }


def _record_outcome(conn: Connection, run: Run, inv: InvocationUpdate, now: float) -> None:
    """The call's outcome on its intent's row; for a call without one, the whole row. A row is
    there anyway when a worker recorded an intent before the tool was declared safe to repeat."""
    if inv.call is not None:
        row = _invocation_row(run, inv.key, inv.call, inv.status, now)
        if insert_ignore(conn, tool_invocations, {**row, "result": inv.result, "error": inv.error}):
            return
    params = {
        "b_key": inv.key,
        "b_status": inv.status,
        "b_result": inv.result,
        "b_error": inv.error,
        "b_now": now,
    }
    conn.execute(sql.UPDATE_INVOCATION, params)


def _record_decisions(conn: Connection, run: Run, outcome: StepOutcome, now: float) -> None:
    if outcome.approval is not None:
        a = outcome.approval
        conn.execute(
            insert(approvals).values(
                id=a.id,
                tenant_id=run.tenant_id,
                run_id=run.id,
                call_key=a.call_key,
                tool=a.tool,
                args=a.args,
                args_hash=a.args_hash,
                tier=a.tier,
                requester_id=a.requester_id,
                status=ApprovalStatus.PENDING,
                expires_at=a.expires_at,
                created_at=now,
            )
        )
    if outcome.question is not None:
        q = outcome.question
        conn.execute(
            insert(questions).values(
                id=q.id,
                tenant_id=run.tenant_id,
                run_id=run.id,
                call_key=q.call_key,
                prompt=q.prompt,
                options=q.options,
                allow_free_text=int(q.allow_free_text),
                asked_of=q.asked_of,
                status=QuestionStatus.PENDING,
                expires_at=q.expires_at,
                created_at=now,
            )
        )


def _chat_message(m: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        m["id"], m["session_id"], m["role"], m["content"], m["user_id"], m["run_id"], m["created_at"]
    )


def _invocation(r: Any) -> ToolInvocation:
    return ToolInvocation(
        r.idempotency_key,
        r.tenant_id,
        r.run_id,
        r.tool,
        r.args_hash,
        r.args,
        InvocationStatus(r.status),
        r.result,
        r.error,
        r.attempts,
    )


def _inputs(conn: Connection, run: Run, history: int) -> StepInputs:
    # No step has committed before step 0, so there is no checkpoint to look for.
    state = None
    if run.step > 0:
        state = conn.execute(sql.CHECKPOINT, {"b_run": run.id, "b_step": run.step}).scalar_one_or_none()
    if state is None:
        return StepInputs(None, *opening_and_window(conn, run, history))
    if state.get("pending"):  # a tool step: no history, but the gate's inputs
        return StepInputs(dict(state), None, [], _call_inputs(conn, run, state["pending"][0]))
    window = message_window(conn, run.tenant_id, run.session_id, before_id=run.message_id, limit=history)
    return StepInputs(dict(state), None, window)


def _call_inputs(conn: Connection, run: Run, call: dict[str, Any], *, gated: bool = True) -> CallInputs:
    """`call` is the checkpoint's first pending call (`core.engine.state.PendingCall` as JSON).

    `gated=False`: the gate has not seen the call yet, so it has asked for no approval or answer
    that could be found (only the gate creates them, each in the commit that parks the run)."""
    found = conn.execute(sql.RULES, {"b_tenant": run.tenant_id, "b_tool": call["name"]}).all()
    rules = [rule_from_row(r) for r in found]
    if not gated:
        return CallInputs(rules=rules, approval=None, question=None)
    keyed = {"b_run": run.id, "b_key": call["key"]}
    approval = conn.execute(sql.APPROVAL_FOR_CALL, keyed).first()
    # Only the built-in ask_user asks questions; other calls need not look.
    question = conn.execute(sql.QUESTION_FOR_CALL, keyed).first() if call["name"] == ASK_USER else None
    return CallInputs(
        rules=rules,
        approval=approval_from_row(approval) if approval else None,
        question=question_from_row(question) if question else None,
    )


def _fence(lease: Lease, now: float) -> dict[str, Any]:
    return {"b_run": lease.run.id, "b_fence": lease.fence, "b_owner": lease.owner, "b_now": now}


def _claim_turn(conn: Connection, run: Run) -> bool:
    """Take the session's turn if it is free and no earlier queued run is waiting for it."""
    return bool(conn.execute(sql.CLAIM_TURN, {"b_session": run.session_id, "b_run": run.id}).rowcount)


def _acquire_events(prior: Run, owner: str, max_attempts: int) -> list[NewEvent]:
    events: list[NewEvent] = []
    if prior.lease_owner is not None:
        events.append(
            NewEvent(
                EventType.LEASE_RECOVERED,
                {"previous_owner": prior.lease_owner, "owner": owner, "step": prior.step},
            )
        )
    if prior.attempts + 1 > max_attempts:
        reason = f"step {prior.step} was attempted {prior.attempts} times without completing"
        events.append(NewEvent(EventType.RUN_FAILED, {"code": "dead_letter", "reason": reason}))
    elif prior.status is RunStatus.QUEUED:
        events.append(NewEvent(EventType.RUN_STARTED, {"owner": owner}))
    return events
