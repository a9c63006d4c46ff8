"""A local stand-in of the Bot Framework around a Teams bot: the Azure AD token endpoint, the
Bot Framework's OpenID metadata and signing keys, and the Bot Connector REST API at a service URL.

`FakeTeamsConnector` runs aiohttp at 127.0.0.1 (port 0) in a thread with its own loop. It holds
an RSA key and signs the tokens a test puts on activities (`token()`, or a forged or expired
one), issues outbound tokens for the bot's credentials, records every connector call, keeps the
activities it was sent (so a test reads a conversation the way a person would, after edits) and
fails on demand: `fail("send", times=3, status=429, retry_after=1)`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.served import ServedApp

APP_ID = "00000000-0000-0000-0000-00000000b075"
APP_PASSWORD = "test-app-password"
KEY_ID = "test-signing-key"
ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class ConnectorCall:
    kind: str  # token | send | update
    conversation: str
    body: dict[str, Any]
    status: int  # what we answered
    reply_to: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Posted:
    id: str
    conversation: str
    activity: dict[str, Any]  # as it looks now (after edits)
    reply_to: str | None
    edits: int = 0

    @property
    def text(self) -> str:
        return str(self.activity.get("text") or "")

    @property
    def card(self) -> dict[str, Any] | None:
        attachments = self.activity.get("attachments") or []
        return attachments[0]["content"] if attachments else None


@dataclass
class _Failure:
    times: int
    status: int
    retry_after: float | None


class FakeTeamsConnector:
    def __init__(self, app_id: str = APP_ID, password: str = APP_PASSWORD) -> None:
        self.app_id = app_id
        self.password = password
        self.key = new_key()
        self._lock = threading.Lock()
        self._calls: list[ConnectorCall] = []
        self._posted: dict[str, Posted] = {}
        self._failures: dict[str, _Failure] = {}
        self._tokens: set[str] = set()
        self._ids = itertools.count(1)
        self._served = ServedApp(self._app(), "fake-teams")

    # --- addresses ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._served.port}"

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/amer/"

    @property
    def openid_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/botframework.com/oauth2/v2.0/token"

    # --- what a test arranges ----------------------------------------------------------------
    def token(
        self,
        *,
        audience: str | None = None,
        service_url: str | None = None,
        expires_in: float = 3600,
        key: rsa.RSAPrivateKey | None = None,
        issuer: str = ISSUER,
    ) -> str:
        """A Bot Framework token as the channel sends it; `key` signs with another key (a forgery)."""
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience or self.app_id,
            "serviceurl": service_url or self.service_url,
            "nbf": now - 10,
            "iat": now - 10,
            "exp": now + int(expires_in),
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": KEY_ID})

    def fail(self, kind: str, *, times: int, status: int = 429, retry_after: float | None = 1) -> None:
        with self._lock:
            self._failures[kind] = _Failure(times, status, retry_after)

    # --- what a test reads -------------------------------------------------------------------
    def calls(self, kind: str | None = None, *, ok_only: bool = False) -> list[ConnectorCall]:
        with self._lock:
            found = list(self._calls)
        return [c for c in found if (kind is None or c.kind == kind) and (not ok_only or c.status < 300)]

    def conversation(self, conversation_id: str) -> list[Posted]:
        """The messages in a conversation, oldest first, as they look now (typing not included)."""
        with self._lock:
            return [
                p
                for p in self._posted.values()
                if p.conversation == conversation_id and p.activity.get("type") == "message"
            ]

    def typing(self, conversation_id: str) -> int:
        return sum(
            1
            for c in self.calls("send", ok_only=True)
            if c.conversation == conversation_id and c.body.get("type") == "typing"
        )

    def wait_for(self, check: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Teams connector never saw what the test waited for")
            time.sleep(0.02)

    # --- the endpoints -----------------------------------------------------------------------
    async def _openid(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": ISSUER,
                "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk |= {"kid": KEY_ID, "use": "sig", "alg": "RS256", "endorsements": ["msteams", "skype"]}
        return web.json_response({"keys": [jwk]})

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        ok = (
            form.get("grant_type") == "client_credentials"
            and form.get("client_id") == self.app_id
            and form.get("client_secret") == self.password
            and form.get("scope") == "https://api.botframework.com/.default"
        )
        with self._lock:
            self._calls.append(ConnectorCall("token", "", dict(form), 200 if ok else 401))
            if not ok:
                return web.json_response({"error": "invalid_client"}, status=401)
            token = f"bf-token-{next(self._ids)}"
            self._tokens.add(token)
        return web.json_response({"token_type": "Bearer", "expires_in": 3600, "access_token": token})

    async def _send(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        reply_to = request.match_info.get("reply_to")
        body = await request.json()
        with self._lock:
            refused = self._refuse("send", request, conversation, body, reply_to)
            if refused is not None:
                return refused
            activity_id = f"1700000{next(self._ids):06d}"
            self._posted[activity_id] = Posted(
                activity_id, conversation, {**body, "id": activity_id}, reply_to
            )
            self._calls.append(ConnectorCall("send", conversation, body, 201, reply_to))
        return web.json_response({"id": activity_id}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        activity_id = request.match_info["activity"]
        body = await request.json()
        with self._lock:
            refused = self._refuse("update", request, conversation, body, None)
            if refused is not None:
                return refused
            found = self._posted.get(activity_id)
            if found is None or found.conversation != conversation:
                self._calls.append(ConnectorCall("update", conversation, body, 404))
                return web.json_response({"error": {"code": "NotFound"}}, status=404)
            found.activity, found.edits = {**body, "id": activity_id}, found.edits + 1
            self._calls.append(ConnectorCall("update", conversation, body, 200))
        return web.json_response({"id": activity_id})

    def _refuse(
        self, kind: str, request: web.Request, conversation: str, body: dict[str, Any], reply_to: str | None
    ) -> web.Response | None:
        failure = self._failures.get(kind)
        if failure is not None and failure.times > 0:
            failure.times -= 1
            self._calls.append(ConnectorCall(kind, conversation, body, failure.status, reply_to))
            headers = (
                {"Retry-After": str(int(failure.retry_after))} if failure.retry_after is not None else {}
            )
            return web.json_response({"error": {"code": "Throttled"}}, status=failure.status, headers=headers)
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self._tokens:
            self._calls.append(ConnectorCall(kind, conversation, body, 401, reply_to))
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        return None

    # --- lifetime ----------------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._openid)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        app.router.add_post("/botframework.com/oauth2/v2.0/token", self._token)
        app.router.add_post("/amer/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/amer/v3/conversations/{conversation}/activities/{reply_to}", self._send)
        app.router.add_put("/amer/v3/conversations/{conversation}/activities/{activity}", self._update)
        return app

    def start(self) -> FakeTeamsConnector:
        self._served.start()
        return self

    def stop(self) -> None:
        self._served.stop()

    def __enter__(self) -> FakeTeamsConnector:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
