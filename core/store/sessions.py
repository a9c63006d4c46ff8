"""A user's own conversations (core/ports.py's `SessionHistory`): the sessions they have runs in,
newest activity first, their messages, and who they are.

Every query names the tenant and the user: a session is the user's when one of its runs is
theirs, and only the messages of their runs are read. An unknown session and another user's
are the same `NotFound`, so an id says nothing about whether it exists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from core.errors import NotFound
from core.ports import Profile, SessionSummary
from core.records import ChatMessage, Role
from core.store.database import Database
from core.store.schema import messages, runs, sessions, tenants, users

TITLE_CHARS = 80


class SessionHistoryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def sessions(
        self, tenant_id: str, user_id: str, *, before: str | None = None, limit: int = 20
    ) -> list[SessionSummary]:
        """`before`: the `last_run_id` of the previous page's last session."""
        return await self._db.run(lambda conn: _summaries(conn, tenant_id, user_id, None, before, limit))

    async def session(self, tenant_id: str, user_id: str, session_id: str) -> SessionSummary:
        found = await self._db.run(lambda conn: _summaries(conn, tenant_id, user_id, session_id, None, 1))
        if not found:
            raise NotFound(f"no session {session_id}")
        return found[0]

    async def messages(
        self, tenant_id: str, user_id: str, session_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[ChatMessage]:
        """The messages of the user's runs in the session, oldest first, after the message `after`."""
        theirs = select(runs.c.id).where(
            runs.c.tenant_id == tenant_id, runs.c.session_id == session_id, runs.c.user_id == user_id
        )
        stmt = select(messages).where(
            messages.c.tenant_id == tenant_id,
            messages.c.session_id == session_id,
            messages.c.run_id.in_(theirs),
        )
        if after is not None:
            stmt = stmt.where(messages.c.id > after)
        stmt = stmt.order_by(messages.c.id).limit(limit)
        rows = await self._db.run(lambda conn: conn.execute(stmt).all())
        return [
            ChatMessage(r.id, r.session_id, r.role, r.content, r.user_id, r.run_id, r.created_at)
            for r in rows
        ]

    async def profile(self, tenant_id: str, user_id: str) -> Profile:
        stmt = (
            select(users.c.name, users.c.role, tenants.c.name.label("tenant_name"))
            .join(tenants, tenants.c.id == users.c.tenant_id)
            .where(users.c.tenant_id == tenant_id, users.c.id == user_id)
        )
        row = await self._db.run(lambda conn: conn.execute(stmt).first())
        if row is None:
            raise NotFound(f"no user {user_id}")
        return Profile(user_id, row.name, Role(row.role), tenant_id, row.tenant_name)


def _summaries(
    conn: Connection, tenant_id: str, user_id: str, session_id: str | None, before: str | None, limit: int
) -> list[SessionSummary]:
    """One grouped read of the user's runs, then their sessions, latest bots and first messages."""
    last = func.max(runs.c.id)
    mine = (
        select(
            runs.c.session_id,
            last.label("last_run_id"),
            func.count().label("runs"),
            func.max(runs.c.created_at).label("updated_at"),
            func.min(runs.c.message_id).label("first_message_id"),
        )
        .where(runs.c.tenant_id == tenant_id, runs.c.user_id == user_id)
        .group_by(runs.c.session_id)
    )
    if session_id is not None:
        mine = mine.where(runs.c.session_id == session_id)
    if before is not None:
        mine = mine.having(last < before)
    page = mine.order_by(last.desc()).limit(limit).subquery()
    latest = runs.alias("latest")
    stmt = (
        select(
            sessions.c.id,
            sessions.c.surface,
            sessions.c.thread_key,
            sessions.c.created_at,
            latest.c.bot,
            page.c.last_run_id,
            page.c.runs,
            page.c.updated_at,
            messages.c.content,
        )
        .join(page, page.c.session_id == sessions.c.id)
        .join(latest, latest.c.id == page.c.last_run_id)
        .outerjoin(messages, messages.c.id == page.c.first_message_id)
        .where(sessions.c.tenant_id == tenant_id)
        .order_by(page.c.last_run_id.desc())
    )
    return [_summary(row) for row in conn.execute(stmt).all()]


def _summary(row: Any) -> SessionSummary:  # a Row of the columns above
    text = " ".join(str(row.content or "").split())
    title = text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"
    return SessionSummary(
        id=row.id,
        bot=row.bot,
        surface=row.surface,
        thread_key=row.thread_key,
        title=title,
        runs=row.runs,
        last_run_id=row.last_run_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
