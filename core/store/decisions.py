"""Human decisions that resume parked runs: approvals of tool calls and answers to questions.

A decision is compare-and-set: the first valid one wins, in the same transaction that moves the
run back to `queued`. Ten concurrent clicks produce one decision and one resume.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, select, update

from core.clock import Clock
from core.errors import Conflict, NotFound
from core.lifecycle import RunStatus
from core.outbound import Renderers
from core.records import (
    Approval,
    ApprovalStatus,
    Decision,
    InvocationStatus,
    NewEvent,
    Question,
    QuestionStatus,
    Run,
)
from core.store.audit import write_audit
from core.store.database import Database
from core.store.rows import update_run
from core.store.schema import approvals, questions, runs, tool_invocations
from core.tiers import Tier

# Approvals and questions share these three states; the tables hold the values.
PENDING, EXPIRED, CANCELLED = (
    ApprovalStatus.PENDING.value,
    ApprovalStatus.EXPIRED.value,
    ApprovalStatus.CANCELLED.value,
)
_APPROVAL_FIELDS = tuple(Approval.__dataclass_fields__)
_QUESTION_FIELDS = tuple(Question.__dataclass_fields__)


def approval_from_row(row: Any) -> Approval:
    values = {f: getattr(row, f) for f in _APPROVAL_FIELDS}
    values["tier"] = Tier(values["tier"])
    values["status"] = ApprovalStatus(values["status"])
    return Approval(**values)


def question_from_row(row: Any) -> Question:
    values = {f: getattr(row, f) for f in _QUESTION_FIELDS}
    values["allow_free_text"] = bool(values["allow_free_text"])
    values["status"] = QuestionStatus(values["status"])
    return Question(**values)


class DecisionStore:
    def __init__(self, db: Database, clock: Clock, renderers: Renderers | None = None) -> None:
        self._db = db
        self._clock = clock
        self._renderers = renderers

    async def approval(self, tenant_id: str, approval_id: str) -> Approval:
        row = await self._get(approvals, tenant_id, approval_id)
        return approval_from_row(row)

    async def approval_for_call(self, tenant_id: str, run_id: str, call_key: str) -> Approval | None:
        stmt = select(approvals).where(
            approvals.c.tenant_id == tenant_id, approvals.c.run_id == run_id, approvals.c.call_key == call_key
        )
        row = await self._db.run(lambda conn: conn.execute(stmt).first())
        return approval_from_row(row) if row else None

    async def question(self, tenant_id: str, question_id: str) -> Question:
        return question_from_row(await self._get(questions, tenant_id, question_id))

    async def question_for_call(self, tenant_id: str, run_id: str, call_key: str) -> Question | None:
        stmt = select(questions).where(
            questions.c.tenant_id == tenant_id, questions.c.run_id == run_id, questions.c.call_key == call_key
        )
        row = await self._db.run(lambda conn: conn.execute(stmt).first())
        return question_from_row(row) if row else None

    async def approvals(
        self,
        tenant_id: str,
        *,
        status: str | None = ApprovalStatus.PENDING,  # an ApprovalStatus; None: any
        run_id: str | None = None,
        limit: int = 100,
    ) -> list[Approval]:
        stmt = select(approvals).where(approvals.c.tenant_id == tenant_id)
        if status is not None:
            stmt = stmt.where(approvals.c.status == status)
        if run_id is not None:
            stmt = stmt.where(approvals.c.run_id == run_id)
        rows = await self._db.run(lambda conn: conn.execute(stmt.order_by(approvals.c.id).limit(limit)).all())
        return [approval_from_row(r) for r in rows]

    async def questions(self, tenant_id: str, *, run_id: str) -> list[Question]:
        stmt = select(questions).where(questions.c.tenant_id == tenant_id, questions.c.run_id == run_id)
        rows = await self._db.run(lambda conn: conn.execute(stmt.order_by(questions.c.id)).all())
        return [question_from_row(r) for r in rows]

    async def decide_approval(self, tenant_id: str, approval_id: str, decision: Decision) -> Run:
        """Approve or deny if the approval is still pending and unexpired; resume its run."""
        return await self._decide(approvals, tenant_id, approval_id, decision)

    async def answer_question(self, tenant_id: str, question_id: str, decision: Decision) -> Run:
        """Record the answer if the question is still pending and unexpired; resume its run."""
        return await self._decide(questions, tenant_id, question_id, decision)

    async def _decide(self, table: Table, tenant_id: str, item_id: str, decision: Decision) -> Run:
        waiting = RunStatus.WAITING_APPROVAL if table is approvals else RunStatus.WAITING_INPUT

        def _tx(conn: Connection) -> Run:
            now = self._clock.now()
            row = (
                conn.execute(
                    update(table)
                    .where(
                        table.c.tenant_id == tenant_id,
                        table.c.id == item_id,
                        table.c.status == PENDING,
                        table.c.expires_at > now,
                    )
                    .values(**decision.values)
                    .returning(table.c.run_id)
                )
            ).first()
            if row is None:
                raise self._why_not(conn, table, tenant_id, item_id, now)
            run = _resume(conn, tenant_id, row.run_id, waiting, decision.event, now, self._renderers)
            if run is None:
                raise Conflict("the run is no longer waiting for this decision", code="not_waiting")
            write_audit(
                conn,
                tenant_id=tenant_id,
                action=decision.audit_action,
                now=now,
                run_id=run.id,
                actor_user_id=decision.actor,
                tool=decision.detail.get("tool"),
                detail=decision.detail,
            )
            return run

        run = await self._db.run(_tx)
        return run

    async def expire_due(self, limit: int = 100) -> list[Run]:
        """Expire pending approvals and questions past their time; their runs resume so the agent
        can tell the user."""
        resumed: list[Run] = []
        for table, waiting in ((approvals, RunStatus.WAITING_APPROVAL), (questions, RunStatus.WAITING_INPUT)):
            expire = functools.partial(self._expire, table=table, waiting=waiting, limit=limit)
            resumed += await self._db.run(expire)
        return resumed

    def _expire(self, conn: Connection, *, table: Table, waiting: RunStatus, limit: int) -> list[Run]:
        now = self._clock.now()
        resumed = []
        stmt = select(table).where(table.c.status == PENDING, table.c.expires_at <= now).limit(limit)
        for row in conn.execute(stmt).all():
            conn.execute(update(table).where(table.c.id == row.id).values(status=EXPIRED))
            event = _expired_event(table, row)
            run = _resume(conn, row.tenant_id, row.run_id, waiting, event, now, self._renderers)
            write_audit(
                conn,
                tenant_id=row.tenant_id,
                action=event.type,
                now=now,
                run_id=row.run_id,
                tool=getattr(row, "tool", None),
                detail=event.payload,
            )
            if run is not None:
                resumed.append(run)
        return resumed

    async def reconcile(self, tenant_id: str, run_id: str, choice: str, actor: str, note: str | None) -> Run:
        """An admin says what became of a side effect whose outcome was unknown."""
        status, result, error = {
            "done": (InvocationStatus.SUCCEEDED, {"reconciled": "done", "note": note}, None),
            "not_done": (
                InvocationStatus.FAILED,
                None,
                f"not_executed: reconciled as not done{': ' + note if note else ''}",
            ),
            "retry": (InvocationStatus.RETRY, None, None),
        }[choice]

        def _tx(conn: Connection) -> Run:
            now = self._clock.now()
            changed = conn.execute(
                update(tool_invocations)
                .where(
                    tool_invocations.c.tenant_id == tenant_id,
                    tool_invocations.c.run_id == run_id,
                    tool_invocations.c.status == InvocationStatus.UNKNOWN,
                )
                .values(status=status, result=result, error=error, updated_at=now)
                .returning(tool_invocations.c.tool, tool_invocations.c.idempotency_key)
            )
            touched = changed.all()
            event = NewEvent(
                "RunReconciled",
                {"decision": choice, "by": actor, "note": note, "keys": [r.idempotency_key for r in touched]},
            )
            run = _resume(
                conn, tenant_id, run_id, RunStatus.NEEDS_RECONCILIATION, event, now, self._renderers
            )
            if run is None:
                raise Conflict("the run is no longer waiting for reconciliation", code="not_waiting")
            for r in touched:
                write_audit(
                    conn,
                    tenant_id=tenant_id,
                    action=f"reconcile.{choice}",
                    now=now,
                    run_id=run_id,
                    actor_user_id=actor,
                    tool=r.tool,
                    detail={"key": r.idempotency_key, "note": note},
                )
            return run

        run = await self._db.run(_tx)
        return run

    async def cancel_for_run(self, tenant_id: str, run_id: str) -> None:
        def _tx(conn: Connection) -> Any:
            for table in (approvals, questions):
                conn.execute(
                    update(table)
                    .where(
                        table.c.tenant_id == tenant_id, table.c.run_id == run_id, table.c.status == PENDING
                    )
                    .values(status=CANCELLED)
                )

        await self._db.run(_tx)

    async def record_refusal(
        self, tenant_id: str, action: str, actor: str, run_id: str, detail: dict[str, Any]
    ) -> None:
        def _tx(conn: Connection) -> Any:
            write_audit(
                conn,
                tenant_id=tenant_id,
                action=action,
                now=self._clock.now(),
                run_id=run_id,
                actor_user_id=actor,
                tool=detail.get("tool"),
                detail=detail,
            )

        await self._db.run(_tx)

    async def _get(self, table: Table, tenant_id: str, item_id: str) -> Any:
        row = await self._db.run(
            lambda conn: conn.execute(
                select(table).where(table.c.tenant_id == tenant_id, table.c.id == item_id)
            ).first()
        )
        if row is None:
            raise NotFound(f"no {'approval' if table is approvals else 'question'} {item_id}")
        return row

    @staticmethod
    def _why_not(conn: Connection, table: Table, tenant_id: str, item_id: str, now: float) -> Exception:
        row = (
            conn.execute(select(table).where(table.c.tenant_id == tenant_id, table.c.id == item_id))
        ).first()
        kind = "approval" if table is approvals else "question"
        if row is None:
            return NotFound(f"no {kind} {item_id}")
        if row.status == PENDING and row.expires_at <= now or row.status == EXPIRED:
            return Conflict(f"this {kind} expired", code="expired")
        if row.status == CANCELLED:
            return Conflict(f"this {kind} was cancelled with its run", code="not_waiting")
        by = getattr(row, "decided_by", None) or getattr(row, "answered_by", None)
        return Conflict(
            f"this {kind} was already {row.status}" + (f" by {by}" if by else ""), code="already_decided"
        )


def _expired_event(table: Table, row: Any) -> NewEvent:
    if table is approvals:
        return NewEvent(
            "ApprovalDecided",
            {
                "approval_id": row.id,
                "tool": row.tool,
                "decision": ApprovalStatus.EXPIRED,
                "by": None,
                "reason": "nobody decided in time",
            },
        )
    return NewEvent("QuestionExpired", {"question_id": row.id})


def _resume(
    conn: Connection,
    tenant_id: str,
    run_id: str,
    waiting: RunStatus,
    event: NewEvent,
    now: float,
    renderers: Renderers | None,
) -> Run | None:
    return update_run(
        conn,
        renderers=renderers,
        run_id=run_id,
        tenant_id=tenant_id,
        where=[runs.c.status == waiting.value],
        values={"status": RunStatus.QUEUED.value, "attempts": 0},
        events=[event],
        now=now,
    )


def pending_filter(items: Sequence[Approval], user_id: str, is_admin: bool) -> list[Approval]:
    """Pending approvals a person may decide: their own user-tier ones; admins, any admin-tier
    one they did not request."""
    return [
        a
        for a in items
        if (a.tier == Tier.USER and a.requester_id == user_id)
        or (a.tier == Tier.ADMIN and is_admin and a.requester_id != user_id)
    ]
