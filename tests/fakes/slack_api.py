"""A local stand-in of the Slack Web API, and the signing Slack does on its requests to us.

`FakeSlackApi` runs on uvicorn at 127.0.0.1 (port 0) in a thread with its own loop, like the
scripted model server. It records every call, keeps the messages it was asked to post and edit
(so a test reads a thread the way a person would), and fails on demand: `fail("chat.postMessage",
times=5, status=429, retry_after=1)`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TEAM_ID = "T0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: v0 HMAC-SHA256 over "v0:{timestamp}:{body}"."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class SlackCall:
    method: str
    args: dict[str, Any]
    status: int  # what we answered: 200, or the failure we were asked for
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    times: int
    status: int
    error: str
    retry_after: float | None


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    edits: int = 0


@dataclass
class _State:
    calls: list[SlackCall] = field(default_factory=list)
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    failures: dict[str, Failure] = field(default_factory=dict)
    group_members: list[str] = field(default_factory=list)
    clock: int = 1_700_000_000
    seq: int = 0


class FakeSlackApi:
    def __init__(self, token: str = "xoxb-test-token") -> None:
        self.token = token
        self._state = _State()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/"

    # --- what a test arranges --------------------------------------------------------------
    def fail(
        self,
        method: str,
        *,
        times: int,
        status: int = 429,
        error: str = "ratelimited",
        retry_after: float | None = 1,
    ) -> None:
        with self._lock:
            self._state.failures[method] = Failure(times, status, error, retry_after)

    def set_group_members(self, users: list[str]) -> None:
        with self._lock:
            self._state.group_members = list(users)

    # --- what a test reads -----------------------------------------------------------------
    def calls(self, method: str | None = None, *, ok_only: bool = False) -> list[SlackCall]:
        with self._lock:
            found = list(self._state.calls)
        return [
            c for c in found if (method is None or c.method == method) and (not ok_only or c.status == 200)
        ]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The replies in a thread, oldest first, as they look now (after edits)."""
        with self._lock:
            found = [
                m for m in self._state.messages.values() if m.channel == channel and m.thread_ts == thread_ts
            ]
        return sorted(found, key=lambda m: m.ts)

    def messages(self, channel: str) -> list[Message]:
        with self._lock:
            found = [m for m in self._state.messages.values() if m.channel == channel]
        return sorted(found, key=lambda m: m.ts)

    def wait_for(self, check: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Slack API never saw what the test waited for")
            time.sleep(0.02)

    # --- the API ---------------------------------------------------------------------------
    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        args = await _args(request)
        with self._lock:
            failure = self._state.failures.get(method)
            if failure is not None and failure.times > 0:
                failure.times -= 1
                self._state.calls.append(SlackCall(method, args, failure.status))
                headers = (
                    {"Retry-After": str(int(failure.retry_after))} if failure.retry_after is not None else {}
                )
                return JSONResponse({"ok": False, "error": failure.error}, failure.status, headers=headers)
            self._state.calls.append(SlackCall(method, args, 200))
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return JSONResponse({"ok": False, "error": "invalid_auth"})
            return JSONResponse(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        state = self._state
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "switchboard",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        if method == "chat.postMessage":
            state.seq += 1
            ts = f"{state.clock + state.seq}.000100"
            message = Message(
                args["channel"], ts, args.get("text", ""), args.get("blocks"), args.get("thread_ts")
            )
            state.messages[(message.channel, ts)] = message
            return {
                "ok": True,
                "channel": message.channel,
                "ts": ts,
                "message": {"text": message.text, "ts": ts},
            }
        if method == "chat.update":
            found = state.messages.get((args["channel"], args["ts"]))
            if found is None:
                return {"ok": False, "error": "message_not_found"}
            found.text, found.edits = args.get("text", found.text), found.edits + 1
            if "blocks" in args:
                found.blocks = args["blocks"]
            return {"ok": True, "channel": found.channel, "ts": found.ts, "text": found.text}
        if method == "conversations.open":  # a direct message with one user: "D" + their id
            return {"ok": True, "channel": {"id": f"D{args.get('users', '')}"}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{state.clock}.999999"}
        if method == "users.info":
            user = args.get("user", "")
            return {"ok": True, "user": {"id": user, "name": user.lower(), "real_name": f"User {user}"}}
        if method == "usergroups.users.list":
            return {"ok": True, "users": list(state.group_members)}
        if method in ("reactions.add", "views.open", "assistant.threads.setStatus"):
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    # --- lifetime --------------------------------------------------------------------------
    async def _stats(self, request: Request) -> JSONResponse:
        """Calls per method (successful ones): for a stand-in running in another process."""
        with self._lock:
            counts = Counter(c.method for c in self._state.calls if c.status == 200)
        return JSONResponse(dict(counts))

    def start(self, port: int = 0) -> FakeSlackApi:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.bind(("127.0.0.1", port))
        routes = [
            Route("/api/{method}", self._endpoint, methods=["POST", "GET"]),
            Route("/_stats", self._stats, methods=["GET"]),
        ]
        app = Starlette(routes=routes)
        config = uvicorn.Config(
            app,
            http="h11",
            ws="none",
            loop="asyncio",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="fake-slack", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join()
                listener.close()
                raise RuntimeError("the fake Slack API did not start")
            time.sleep(0.005)
        self._port = listener.getsockname()[1]
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FakeSlackApi:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


async def _args(request: Request) -> dict[str, Any]:
    body = await request.body()
    args: dict[str, Any] = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        args.update(json.loads(body or b"{}"))
    else:
        for key, value in parse_qsl(body.decode()):
            args[key] = json.loads(value) if key in ("blocks", "view") else value
    return args


if __name__ == "__main__":  # a stand-in in its own process: python -m tests.fakes.slack_api PORT [TOKEN]
    import sys

    api = FakeSlackApi(*(sys.argv[2:3] or ["xoxb-test-token"])).start(int(sys.argv[1]))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        api.stop()
