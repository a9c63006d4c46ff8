"""Creating, reading and deciding on runs. Every read takes the tenant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, or_, select
from sqlalchemy.exc import IntegrityError

from core.clock import Clock
from core.errors import Conflict, NotFound
from core.events import EventType
from core.ids import new_id
from core.lifecycle import ACTIVE, RunStatus, check_transition, sources_of
from core.outbound import Renderers
from core.records import ChatMessage, NewEvent, NewRun, Run, RunEvent, Submitted
from core.store import fused
from core.store import statements as sql
from core.store.database import Database
from core.store.rows import append_events, queue_rendered, run_from_row, update_run
from core.store.schema import inbound_events, run_events, runs, sessions
from core.store.sql import insert_ignore


class RunStore:
    def __init__(self, db: Database, clock: Clock, renderers: Renderers | None = None) -> None:
        self._db = db
        self._clock = clock
        self._renderers = renderers

    async def submit(self, new: NewRun) -> Submitted:
        """Record the message and create its run in one transaction."""
        if new.idempotency_key:
            existing = await self._by_idempotency_key(new.tenant_id, new.idempotency_key)
            if existing is not None:
                return self._reuse(existing, new)
        try:
            return await self._db.run(lambda conn: self._insert(conn, new))
        except IntegrityError:
            if not new.idempotency_key:
                raise
            existing = await self._by_idempotency_key(new.tenant_id, new.idempotency_key)
            if existing is None:
                raise
            return self._reuse(existing, new)

    @staticmethod
    def _reuse(existing: Run, new: NewRun) -> Submitted:
        if existing.request_hash != new.request_hash:
            raise Conflict(
                "this Idempotency-Key was used with a different request", code="idempotency_conflict"
            )
        return Submitted(run=existing, created=False)

    def _insert(self, conn: Connection, new: NewRun) -> Submitted:
        now = self._clock.now()
        if new.event_id is not None:
            fresh = insert_ignore(
                conn,
                inbound_events,
                {
                    "surface": new.surface,
                    "event_id": new.event_id,
                    "tenant_id": new.tenant_id,
                    "received_at": now,
                },
            )
            if not fresh:
                return Submitted(run=None, created=False)
        position = new.admit(conn) if new.admit is not None else None
        message_id, run_id = new_id("msg"), new_id("run")
        message = {
            "id": message_id,
            "tenant_id": new.tenant_id,
            "run_id": run_id,
            "user_id": new.user_id,
            "role": "user",
            "content": new.text,
            "created_at": now,
        }
        row = {
            "id": run_id,
            "tenant_id": new.tenant_id,
            "user_id": new.user_id,
            "message_id": message_id,
            "bot": new.bot,
            "surface": new.surface,
            "thread_key": new.thread_key,
            "status": RunStatus.QUEUED.value,
            "step": 0,
            "event_seq": 1,
            "fence": 0,
            "attempts": 0,
            "idempotency_key": new.idempotency_key,
            "request_hash": new.request_hash,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_usd": 0.0,
            "created_at": now,
            "updated_at": now,
        }
        session = self._session_row(new, now)
        event = {"run_id": run_id, "seq": 1, "tenant_id": new.tenant_id, "type": EventType.RUN_CREATED.value}
        session_id = None
        if conn.dialect.name == "postgresql":  # all four writes in one statement (core/store/fused.py)
            params = _prefixed("s_", session) | _prefixed("m_", message) | _prefixed("r_", row)
            params |= _prefixed("e_", {**event, "created_at": now})
            session_id = conn.execute(fused.submit(), params).scalar_one()
        written = session_id is not None
        if not written:
            session_id = self._session_id(conn, session)
            conn.execute(sql.INSERT_MESSAGE, {**message, "session_id": session_id})
            conn.execute(sql.INSERT_RUN, {**row, "session_id": session_id})
        run = run_from_row(
            {**row, "session_id": session_id, "answer": None, "error_code": None, "error_message": None}
        )
        payload = {"bot": new.bot, "user_id": new.user_id, "session_id": session_id, "surface": new.surface}
        created = RunEvent(run_id, 1, EventType.RUN_CREATED.value, payload, now)
        if written:
            queue_rendered(conn, run, [created], self._renderers)
        else:
            append_events(conn, run, [created], self._renderers)
        return Submitted(run=run, created=True, position=position)

    @staticmethod
    def _session_row(new: NewRun, now: float) -> dict[str, Any]:
        return {
            "id": new_id("ses"),
            "tenant_id": new.tenant_id,
            "surface": new.surface,
            "thread_key": new.thread_key,
            "bot": new.bot,
            "created_at": now,
        }

    @staticmethod
    def _session_id(conn: Connection, session: dict[str, Any]) -> str:
        """The thread's session: created now (one statement), or found (a second)."""
        if insert_ignore(conn, sessions, session):
            return str(session["id"])
        params = {
            "b_tenant": session["tenant_id"],
            "b_surface": session["surface"],
            "b_thread": session["thread_key"],
        }
        return str(conn.execute(sql.SESSION_ID, params).scalar_one())

    async def has_session(self, tenant_id: str, surface: str, thread_key: str) -> bool:
        """Whether this thread already is a conversation with a bot (follow-ups need no mention)."""
        stmt = select(sessions.c.id).where(
            sessions.c.tenant_id == tenant_id,
            sessions.c.surface == surface,
            sessions.c.thread_key == thread_key,
        )

        found: bool = await self._db.run(lambda conn: conn.execute(stmt).first() is not None)
        return found

    async def _by_idempotency_key(self, tenant_id: str, key: str) -> Run | None:
        stmt = select(runs).where(runs.c.tenant_id == tenant_id, runs.c.idempotency_key == key)
        row = await self._db.run(lambda conn: conn.execute(stmt).first())
        return run_from_row(row) if row else None

    async def get(self, tenant_id: str, run_id: str) -> Run:
        stmt = select(runs).where(runs.c.tenant_id == tenant_id, runs.c.id == run_id)
        row = await self._db.read(lambda conn: conn.execute(stmt).first())
        if row is None:
            raise NotFound(f"no run {run_id}")
        return run_from_row(row)

    async def find(
        self,
        tenant_id: str,
        *,
        status: RunStatus | None = None,
        bot: str | None = None,
        user_id: str | None = None,
        limit: int = 50,
    ) -> list[Run]:
        stmt = select(runs).where(runs.c.tenant_id == tenant_id)
        if status is not None:
            stmt = stmt.where(runs.c.status == status.value)
        if bot is not None:
            stmt = stmt.where(runs.c.bot == bot)
        if user_id is not None:
            stmt = stmt.where(runs.c.user_id == user_id)
        stmt = stmt.order_by(runs.c.id.desc()).limit(limit)
        rows = await self._db.run(lambda conn: conn.execute(stmt).all())
        return [run_from_row(r) for r in rows]

    async def events(
        self, tenant_id: str, run_id: str, *, after_seq: int = 0, limit: int = 500
    ) -> list[RunEvent]:
        stmt = (
            select(run_events)
            .where(
                run_events.c.tenant_id == tenant_id,
                run_events.c.run_id == run_id,
                run_events.c.seq > after_seq,
            )
            .order_by(run_events.c.seq)
            .limit(limit)
        )
        rows = await self._db.run(lambda conn: conn.execute(stmt).all())
        return [RunEvent(r.run_id, r.seq, r.type, r.payload, r.created_at) for r in rows]

    async def session_messages(
        self, tenant_id: str, session_id: str, *, before_id: str, limit: int
    ) -> list[ChatMessage]:
        """The last `limit` messages of a session before one message: a bounded window, whatever its length."""

        return await self._db.run(
            lambda conn: message_window(conn, tenant_id, session_id, before_id=before_id, limit=limit)
        )

    async def message(self, tenant_id: str, message_id: str) -> ChatMessage:
        found = await self._db.run(lambda conn: message_by_id(conn, tenant_id, message_id))
        if found is None:
            raise NotFound("no such message")
        return found

    async def transition(
        self,
        tenant_id: str,
        run_id: str,
        target: RunStatus,
        events: Sequence[NewEvent],
        *,
        extra: dict[str, object] | None = None,
    ) -> tuple[Run, str | None]:
        """Move a run to `target` from wherever it legally can; bumps the fence so a worker
        holding the run loses it. Returns the run and the next run to nudge in its session."""
        current = await self.get(tenant_id, run_id)
        check_transition(current.status, target)

        def _tx(conn: Connection) -> Any:
            now = self._clock.now()
            run = update_run(
                conn,
                renderers=self._renderers,
                run_id=run_id,
                tenant_id=tenant_id,
                where=[runs.c.status.in_([s.value for s in sources_of(target)])],
                values={
                    "status": target.value,
                    "fence": runs.c.fence + 1,
                    "lease_owner": None,
                    "lease_expires_at": None,
                    **(extra or {}),
                },
                events=events,
                now=now,
            )
            if run is None:
                raise Conflict(f"run {run_id} changed state concurrently; try again")
            nxt = release_turn(conn, run) if target not in ACTIVE else None
            return run, nxt

        run, nxt = await self._db.run(_tx)
        return run, nxt

    async def due(self, now: float, limit: int = 200) -> list[str]:
        """Runs a worker should advance: active, unleased or with an expired lease, and not
        waiting behind another run of their session. A system query for the sweeper."""
        stmt = (
            select(runs.c.id)
            .join(sessions, sessions.c.id == runs.c.session_id)
            .where(
                runs.c.status.in_([s.value for s in ACTIVE]),
                or_(runs.c.lease_expires_at.is_(None), runs.c.lease_expires_at < now),
                or_(sessions.c.active_run_id.is_(None), sessions.c.active_run_id == runs.c.id),
            )
            .order_by(runs.c.id)
            .limit(limit)
        )

        return await self._db.run(lambda conn: [r.id for r in conn.execute(stmt).all()])

    async def count_by_status(self) -> dict[str, int]:
        """Runs of every tenant by status, for the metrics' gauge."""
        stmt = select(runs.c.status, func.count()).group_by(runs.c.status)
        rows = await self._db.run(lambda conn: [(r[0], r[1]) for r in conn.execute(stmt)])
        return dict(rows)


def release_turn(conn: Connection, run: Run) -> str | None:
    """Give up the session's turn (if this run holds it) and name the next queued run."""
    params = {"b_session": run.session_id, "b_run": run.id}
    released = conn.execute(sql.RELEASE_TURN, params).first()
    if released is not None:
        next_run: str | None = released[0]  # NULL when no run of the session is queued
        return next_run
    return conn.execute(sql.NEXT_QUEUED, params).scalar_one_or_none()


def _chat_message(r: Any) -> ChatMessage:
    return ChatMessage(r.id, r.session_id, r.role, r.content, r.user_id, r.run_id, r.created_at)


def message_by_id(conn: Connection, tenant_id: str, message_id: str) -> ChatMessage | None:
    row = conn.execute(sql.MESSAGE, {"b_tenant": tenant_id, "b_id": message_id}).first()
    return _chat_message(row) if row else None


def message_window(
    conn: Connection, tenant_id: str, session_id: str, *, before_id: str, limit: int
) -> list[ChatMessage]:
    params = {"b_tenant": tenant_id, "b_session": session_id, "b_before": before_id, "b_limit": limit}
    rows = conn.execute(sql.WINDOW, params).all()
    return [_chat_message(r) for r in reversed(rows)]


def opening_and_window(
    conn: Connection, run: Run, limit: int
) -> tuple[ChatMessage | None, list[ChatMessage]]:
    """The run's opening message and up to `limit` messages of its session before it, oldest
    first: `message_by_id` and `message_window` in one query."""
    params = {"b_tenant": run.tenant_id, "b_session": run.session_id, "b_before": run.message_id}
    rows = conn.execute(sql.OPENING_AND_WINDOW, params | {"b_limit": limit + 1}).all()
    return split_window([_chat_message(r) for r in rows], run.message_id, limit)


def split_window(
    newest_first: list[ChatMessage], message_id: str, limit: int
) -> tuple[ChatMessage | None, list[ChatMessage]]:
    """`OPENING_AND_WINDOW`'s rows (up to `limit` + 1, newest first) as the run's opening message
    and the window before it, oldest first."""
    rows = newest_first
    opening = rows[0] if rows and rows[0].id == message_id else None
    window = rows[1:] if opening is not None else rows[:limit]
    return opening, list(reversed(window))


def _prefixed(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    return {prefix + name: value for name, value in values.items()}
