"""`GET /v1/bots`: the bots a caller can talk to, for pickers such as the web page's."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.api.auth import authenticate
from channels.api.errors import json_response
from core.bots import Bot
from core.runtime import Runtime


class BotView(BaseModel):
    name: str
    description: str
    tools: list[str]


class BotList(BaseModel):
    bots: list[BotView]


def bot_view(bot: Bot) -> BotView:
    return BotView(name=bot.name, description=bot.description, tools=[t.name for t in bot.tools])


class BotEndpoints:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def routes(self) -> list[Route]:
        return [Route("/v1/bots", self.list_bots, methods=["GET"], name="bots")]

    async def list_bots(self, request: Request) -> Response:
        # Every tenant talks to the same registry today; the key still has to be a real one.
        await authenticate(request, self._runtime)
        # In the order settings name them: the first is the default choice.
        return json_response(BotList(bots=[bot_view(b) for b in self._runtime.bots]))
