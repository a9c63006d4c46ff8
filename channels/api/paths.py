"""Every path parameter of every route, checked once: a request whose path holds a control
character or a lone surrogate is answered 422 before routing, so no route looks such an id up.

Ids, keys and names never hold one (the text policy, core/text.py). Checking the whole decoded
path covers each `{param}` of every route, present and future, without a line in any route.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from channels.api.errors import error_response, public_error
from core.errors import InvalidInput
from core.text import check_identifier


class PathGuard:
    """ASGI middleware; wrap the API app with it (`Middleware(PathGuard)`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                check_identifier(scope["path"], "the path")
            except InvalidInput as exc:
                status, error = public_error(exc)
                await error_response(status, error)(scope, receive, send)
                return
        await self.app(scope, receive, send)
