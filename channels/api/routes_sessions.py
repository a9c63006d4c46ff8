"""`GET /v1/me`, `GET /v1/sessions`, `GET /v1/sessions/{id}` and `GET /v1/sessions/{id}/messages`:
who the caller is, and the caller's own conversations, so a client can list and resume them.

Every session read is the caller's alone, admins included (an admin reads others' runs through
`/v1/runs`): the store's queries name the tenant and the user, and a session that is not the
caller's is a 404 like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.api.auth import authenticate
from channels.api.body import validate_query
from channels.api.errors import json_response
from channels.api.schemas import MAX_ID, Identifier, timestamp
from core.ports import SessionHistory, SessionSummary
from core.records import ChatMessage, Principal
from core.runtime import Runtime

API_SURFACE = "api"  # the sessions this API's `POST /v1/runs` creates (routes_runs.py)


class MeView(BaseModel):
    user_id: str
    name: str
    role: Literal["member", "admin"]
    tenant_id: str
    tenant_name: str


class SessionView(BaseModel):
    id: str
    bot: str = Field(description="The bot of the caller's latest run in it.")
    surface: str = Field(description="Where the conversation took place: api, slack, teams, discord.")
    key: str | None = Field(
        description="The `session` to send to `POST /v1/runs` to continue it; null for a conversation "
        "held on another surface."
    )
    title: str = Field(description="The caller's first message in it, cut to 80 characters.")
    runs: int = Field(description="How many of the caller's runs it holds.")
    last_run_id: str
    created_at: datetime
    updated_at: datetime = Field(description="When the caller's latest run in it started.")


class SessionList(BaseModel):
    sessions: list[SessionView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class SessionsQuery(BaseModel):
    cursor: Identifier | None = Field(default=None, max_length=MAX_ID)
    limit: int = Field(default=20, ge=1, le=100)


class SessionMessageView(BaseModel):
    id: str
    run_id: str | None
    role: str = Field(description="user or assistant.")
    content: str
    user_id: str | None
    created_at: datetime


class SessionMessageList(BaseModel):
    session_id: str
    messages: list[SessionMessageView]
    next_cursor: str | None = Field(description="Pass as `after` for the next page; null on the last.")


class MessagesQuery(BaseModel):
    after: Identifier | None = Field(default=None, max_length=MAX_ID, description="A message id.")
    limit: int = Field(default=100, ge=1, le=500)


class SessionEndpoints:
    def __init__(self, runtime: Runtime, history: SessionHistory) -> None:
        self._runtime = runtime
        self._history = history

    def routes(self) -> list[Route]:
        return [
            Route("/v1/me", self.me, methods=["GET"], name="me"),
            Route("/v1/sessions", self.list_sessions, methods=["GET"], name="sessions"),
            Route("/v1/sessions/{session_id}", self.get_session, methods=["GET"], name="get_session"),
            Route(
                "/v1/sessions/{session_id}/messages",
                self.messages,
                methods=["GET"],
                name="session_messages",
            ),
        ]

    async def me(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        profile = await self._history.profile(who.tenant_id, who.user_id)
        return json_response(
            MeView(
                user_id=profile.user_id,
                name=profile.name,
                role="admin" if who.is_admin else "member",
                tenant_id=profile.tenant_id,
                tenant_name=profile.tenant_name,
            )
        )

    async def list_sessions(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        query = validate_query(SessionsQuery, request.query_params)
        found = await self._history.sessions(
            who.tenant_id, who.user_id, before=query.cursor, limit=query.limit + 1
        )
        page = found[: query.limit]
        more = len(found) > query.limit
        return json_response(
            SessionList(
                sessions=[session_view(who, s) for s in page],
                next_cursor=page[-1].last_run_id if more else None,
            )
        )

    async def get_session(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        found = await self._history.session(who.tenant_id, who.user_id, request.path_params["session_id"])
        return json_response(session_view(who, found))

    async def messages(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        session_id = request.path_params["session_id"]
        query = validate_query(MessagesQuery, request.query_params)
        await self._history.session(who.tenant_id, who.user_id, session_id)  # not the caller's: 404
        found = await self._history.messages(
            who.tenant_id, who.user_id, session_id, after=query.after, limit=query.limit + 1
        )
        page = found[: query.limit]
        return json_response(
            SessionMessageList(
                session_id=session_id,
                messages=[message_view(m) for m in page],
                next_cursor=page[-1].id if len(found) > query.limit else None,
            )
        )


def session_view(who: Principal, session: SessionSummary) -> SessionView:
    return SessionView(
        id=session.id,
        bot=session.bot,
        surface=session.surface,
        key=client_key(who, session),
        title=session.title,
        runs=session.runs,
        last_run_id=session.last_run_id,
        created_at=timestamp(session.created_at),
        updated_at=timestamp(session.updated_at),
    )


def client_key(who: Principal, session: SessionSummary) -> str | None:
    """The API keys a session `<user id>:<client key>` (routes_runs.py's `_private`): the client
    gets back the part it chose."""
    prefix = f"{who.user_id}:"
    if session.surface != API_SURFACE or not session.thread_key.startswith(prefix):
        return None
    return session.thread_key.removeprefix(prefix)


def message_view(message: ChatMessage) -> SessionMessageView:
    return SessionMessageView(
        id=message.id,
        run_id=message.run_id,
        role=message.role,
        content=message.content,
        user_id=message.user_id,
        created_at=timestamp(message.created_at),
    )
