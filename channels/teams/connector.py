"""The Bot Connector REST API, the few calls we make, over aiohttp: send an activity to a
conversation (or as a reply in a channel thread), and update one we sent.

Outbound calls carry a token from the Azure AD client-credentials flow (the bot's app id and
password), cached until shortly before it expires and fetched again after a 401. Non-2xx answers
become `ConnectorError` with the status and any Retry-After; the sink decides what they mean.

Why not botframework-connector's `ConnectorClient`: it runs on msrest and gets its token
through MSAL's authority discovery, which a local stand-in cannot serve; these are four REST
calls with one JSON body each.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

SCOPE = "https://api.botframework.com/.default"
_REFRESH_EARLY_S = 300


class ConnectorError(Exception):
    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Credentials:
    app_id: str
    password: str
    token_endpoint: str


def default_token_endpoint(app_tenant_id: str | None) -> str:
    """Multi-tenant bots get tokens from the botframework.com tenant, single-tenant ones from their own."""
    return f"https://login.microsoftonline.com/{app_tenant_id or 'botframework.com'}/oauth2/v2.0/token"


class TokenSource:
    def __init__(
        self,
        credentials: Credentials | None,
        session: Callable[[], aiohttp.ClientSession],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = credentials
        self._session = session
        self._clock = clock
        self._token: tuple[str, float] | None = None

    async def header(self) -> dict[str, str]:
        """`Authorization` for an outbound call; none without credentials (anonymous development)."""
        if self._credentials is None:
            return {}
        if self._token is None or self._clock() >= self._token[1]:
            self._token = await self._fetch(self._credentials)
        return {"Authorization": f"Bearer {self._token[0]}"}

    def invalidate(self) -> None:
        self._token = None

    async def _fetch(self, credentials: Credentials) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": credentials.app_id,
            "client_secret": credentials.password,
            "scope": SCOPE,
        }
        async with self._session().post(credentials.token_endpoint, data=form) as response:
            if response.status != 200:
                raise ConnectorError(
                    response.status,
                    "the token endpoint refused the bot's credentials",
                    _retry_after(response),
                )
            body = await response.json(content_type=None)
        lifetime = float(body.get("expires_in", 3600))
        return str(body["access_token"]), self._clock() + max(0.0, lifetime - _REFRESH_EARLY_S)


class ConnectorClient:
    def __init__(self, tokens: TokenSource, session: Callable[[], aiohttp.ClientSession]) -> None:
        self._tokens = tokens
        self._session = session

    async def send(
        self, service_url: str, conversation_id: str, activity: dict[str, Any], reply_to_id: str | None = None
    ) -> str:
        """Send to the conversation (under `reply_to_id` in a channel thread); the new activity's id."""
        path = f"/activities/{quote(reply_to_id, safe='')}" if reply_to_id else "/activities"
        body = await self._call("POST", _conversation_url(service_url, conversation_id) + path, activity)
        return str(body.get("id") or "")

    async def update(
        self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any]
    ) -> None:
        url = f"{_conversation_url(service_url, conversation_id)}/activities/{quote(activity_id, safe='')}"
        await self._call("PUT", url, {**activity, "id": activity_id})

    async def _call(self, method: str, url: str, activity: dict[str, Any]) -> dict[str, Any]:
        # UTF-8 rather than \u escapes: Teams' size limit is in bytes.
        data = json.dumps(activity, ensure_ascii=False).encode()
        for attempt in range(2):
            headers = {"Content-Type": "application/json; charset=utf-8", **await self._tokens.header()}
            async with self._session().request(method, url, data=data, headers=headers) as response:
                if response.status == 401 and attempt == 0:
                    self._tokens.invalidate()  # the token may have been revoked or rotated
                    continue
                if response.status >= 300:
                    text = (await response.text())[:300]
                    raise ConnectorError(response.status, text, _retry_after(response))
                if response.status in (201, 200) and response.content_length != 0:
                    found: dict[str, Any] = await response.json(content_type=None) or {}
                    return found
                return {}
        raise ConnectorError(401, "the connector refused a fresh token")


def _conversation_url(service_url: str, conversation_id: str) -> str:
    return f"{service_url.rstrip('/')}/v3/conversations/{quote(conversation_id, safe='')}"


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None
