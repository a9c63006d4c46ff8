"""Who is asking: `Authorization: Bearer <key>` resolved to a core `Principal`."""

from __future__ import annotations

from starlette.requests import Request

from core.errors import Unauthorized
from core.records import Principal
from core.runtime import Runtime


def bearer_key(request: Request) -> str:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    return key


async def authenticate(request: Request, runtime: Runtime) -> Principal:
    return await runtime.authenticate(bearer_key(request))
