"""Who is asking: `Authorization: Bearer <key>` resolved to a core `Principal`."""

from __future__ import annotations

from starlette.requests import Request

from core.errors import Unauthorized
from core.records import Principal
from core.store.directory import Directory


def bearer_key(request: Request) -> str:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    return key


async def authenticate(request: Request, directory: Directory) -> Principal:
    return await directory.authenticate(bearer_key(request))
