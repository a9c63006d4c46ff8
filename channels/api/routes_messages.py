"""`GET /v1/runs/{run_id}/message`: the user's message that started a run, so a client can redraw
a conversation from the backend alone (the run view and its events do not carry the text)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.api.auth import authenticate
from channels.api.errors import json_response
from channels.api.schemas import timestamp
from core.runtime import Runtime


class MessageView(BaseModel):
    id: str
    run_id: str
    role: str
    content: str
    user_id: str | None
    created_at: datetime


class MessageEndpoints:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def routes(self) -> list[Route]:
        return [Route("/v1/runs/{run_id}/message", self.run_message, methods=["GET"], name="run_message")]

    async def run_message(self, request: Request) -> Response:
        who = await authenticate(request, self._runtime)
        run_id = request.path_params["run_id"]
        message = await self._runtime.message(who, run_id)  # enforces who may see the run
        return json_response(
            MessageView(
                id=message.id,
                run_id=run_id,
                role=message.role,
                content=message.content,
                user_id=message.user_id,
                created_at=timestamp(message.created_at),
            )
        )
