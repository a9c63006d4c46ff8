"""A local stand-in of Discord: the REST routes discord.py uses and a gateway websocket.

`FakeDiscord` runs an aiohttp server at 127.0.0.1 (port 0) in a thread with its own loop, like
the scripted model server. REST lives under `/api/v10` (the base discord.py is pointed at), the
gateway at `/gateway`. The gateway says HELLO, answers IDENTIFY with READY and a GUILD_CREATE of
one guild (a text channel, an admin role, and the threads opened so far), acknowledges
heartbeats, and pushes what a test sends: `say(...)` (MESSAGE_CREATE) and `click(...)`
(INTERACTION_CREATE). Opening a thread over REST pushes THREAD_CREATE, as Discord does.

It records every REST call, keeps the messages it was asked to post and edit (so a test reads a
channel the way a person would), honours `nonce` + `enforce_nonce` like Discord, and fails on
demand: `fail("create_message", times=3, status=429, retry_after=0.05)`, or
`fail(..., status=502, after_processing=True)` (the message is created, the answer is lost), or
`fail(..., status=403, code=50001)` (Missing Access). Opening a DM (`POST /users/@me/channels`)
gives each user one DM channel of their own, the same on every call.
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

from aiohttp import WSMsgType, web

from tests.fakes.served import ServedApp

GUILD_ID = "800000000000000001"
CHANNEL_ID = "800000000000000002"
DM_CHANNEL_ID = "800000000000000003"
ADMIN_ROLE = "800000000000000004"
BOT_USER_ID = "800000000000000010"
APPLICATION_ID = BOT_USER_ID
_HEARTBEAT_MS = 45_000
_EPOCH = "2026-01-01T00:00:00.000000+00:00"


@dataclass(frozen=True)
class RestCall:
    route: str  # a name: create_message, edit_message, typing, open_thread, callback, followup, …
    method: str
    path: str
    body: dict[str, Any] | None
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    times: int
    status: int
    retry_after: float
    after_processing: bool  # do the work, then answer with the failure (a lost response)
    code: int = 0  # Discord's JSON error code in the answer


@dataclass
class Message:
    id: str
    channel: str
    content: str
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    nonce: str | None = None
    allowed_mentions: dict[str, Any] | None = None
    edits: int = 0

    def buttons(self) -> list[dict[str, Any]]:
        return [b for row in self.components for b in row.get("components", [])]

    def text(self) -> str:
        """Everything a reader sees: content, embed titles, descriptions and fields."""
        parts = [self.content]
        for e in self.embeds:
            parts += [str(e.get("title", "")), str(e.get("description", ""))]
            parts += [f"{f.get('name')}: {f.get('value')}" for f in e.get("fields", [])]
        return "\n".join(p for p in parts if p)


@dataclass
class Person:
    id: str
    roles: list[str] = field(default_factory=list)


class FakeDiscord:
    def __init__(self, token: str = "test-discord-token") -> None:
        self.token = token
        self._lock = threading.Lock()
        self._ids = itertools.count(900_000_000_000_000_000)
        self.calls_made: list[RestCall] = []
        self.messages_by_id: dict[str, Message] = {}
        self.threads: dict[str, dict[str, Any]] = {}
        self.dms: dict[str, str] = {}  # user id -> their DM channel with the bot
        self._failures: dict[str, Failure] = {}
        self._acked: set[str] = set()
        self.ephemerals: list[tuple[str, str]] = []  # (user id, text) of ephemeral follow-ups
        self._interactions: dict[str, str] = {}  # token -> user id
        self._sockets: list[web.WebSocketResponse] = []
        self.identified = 0
        self._served = ServedApp(self._app(), "fake-discord", before_stop=self.disconnect_all)

    @property
    def port(self) -> int:
        return self._served.port

    # --- addresses -------------------------------------------------------------------------
    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # --- what a test arranges --------------------------------------------------------------
    def fail(
        self,
        route: str,
        *,
        times: int,
        status: int = 429,
        retry_after: float = 0.05,
        after_processing: bool = False,
        code: int = 0,
    ) -> None:
        with self._lock:
            self._failures[route] = Failure(times, status, retry_after, after_processing, code)

    def say(
        self,
        person: Person,
        text: str,
        *,
        channel: str = CHANNEL_ID,
        mention: bool = True,
        dm: bool = False,
        author_bot: bool = False,
        message_id: str | None = None,
    ) -> str:
        """A person writes a message (mentioning the bot at its start unless told not to).
        `message_id`: the id of one sent before, as a gateway replays it after a RESUME."""
        message_id = message_id or self.new_id()
        content = f"<@{BOT_USER_ID}> {text}" if mention else text
        data: dict[str, Any] = {
            **_message_json(message_id, channel, content, [], [], _user(person.id, bot=author_bot)),
            "mentions": [_user(BOT_USER_ID, bot=True)] if mention else [],
        }
        if not dm:
            data |= {"guild_id": GUILD_ID, "member": _member(person)}
        self.push("MESSAGE_CREATE", data)
        return message_id

    def click(self, person: Person, message: Message, custom_id: str, *, dm: bool = False) -> str:
        """A person clicks a button on a message; returns the interaction's id."""
        interaction_id, token = self.new_id(), f"itoken-{self.new_id()}"
        with self._lock:
            self._interactions[token] = person.id
        data: dict[str, Any] = {
            "id": interaction_id,
            "application_id": APPLICATION_ID,
            "type": 3,
            "token": token,
            "version": 1,
            "channel_id": message.channel,
            "channel": self._channel_json(message.channel),
            "data": {"custom_id": custom_id, "component_type": 2},
            "message": _message_json(
                message.id,
                message.channel,
                message.content,
                message.embeds,
                message.components,
                _user(BOT_USER_ID, bot=True),
            ),
            "app_permissions": "0",
            "locale": "en-US",
            "attachment_size_limit": 8_388_608,
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0,
        }
        if dm:
            data["user"] = _user(person.id)
        else:
            data |= {
                "guild_id": GUILD_ID,
                "guild_locale": "en-US",
                "member": {**_member(person), "permissions": "0"},
            }
        self.push("INTERACTION_CREATE", data)
        return interaction_id

    def push(self, event: str, data: dict[str, Any]) -> None:
        """Send a dispatch event to every connected gateway session."""
        self._served.run(self._dispatch(event, data))

    def new_id(self) -> str:
        with self._lock:
            return str(next(self._ids))

    # --- what a test reads -----------------------------------------------------------------
    def calls(self, route: str | None = None, *, ok_only: bool = False) -> list[RestCall]:
        with self._lock:
            found = list(self.calls_made)
        return [c for c in found if (route is None or c.route == route) and (not ok_only or c.status < 300)]

    def messages(self, channel: str) -> list[Message]:
        """The messages in a channel or thread, oldest first, as they look now (after edits)."""
        with self._lock:
            return sorted(
                (m for m in self.messages_by_id.values() if m.channel == channel), key=lambda m: int(m.id)
            )

    def all_messages(self) -> list[Message]:
        with self._lock:
            return sorted(self.messages_by_id.values(), key=lambda m: int(m.id))

    def ephemeral_to(self, user: str) -> list[str]:
        with self._lock:
            return [text for who, text in self.ephemerals if who == user]

    @property
    def connected(self) -> int:
        with self._lock:
            return len(self._sockets)

    # --- REST ------------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.Response:
        route, handler = self._route(request)
        body = await request.json() if request.can_read_body else None
        with self._lock:
            failure = self._failures.get(route)
            failing = failure is not None and failure.times > 0
            if failing and failure is not None:
                failure.times -= 1
            if not self._authorized(route, request):
                self.calls_made.append(RestCall(route, request.method, request.path, body, 401))
                return _error(401, 0, "401: Unauthorized")
            if failing and failure is not None and not failure.after_processing:
                self.calls_made.append(RestCall(route, request.method, request.path, body, failure.status))
                return _failure(failure)
            status, answer = handler(request.match_info, body or {})
            recorded = failure.status if failing and failure is not None else status
            self.calls_made.append(RestCall(route, request.method, request.path, body, recorded))
        events = answer.pop("__events__", []) if isinstance(answer, dict) else []
        for event, data in events:
            await self._dispatch(event, data)
        if failing and failure is not None:
            return _failure(failure)
        if status == 204:
            return web.Response(status=204)
        return _json(answer, status)

    def _authorized(self, route: str, request: web.Request) -> bool:
        """Interaction responses are authorised by the interaction's token, the rest by the bot's."""
        if route in ("callback", "followup"):
            return request.match_info["token"] in self._interactions
        return request.headers.get("Authorization") == f"Bot {self.token}"

    def _route(self, request: web.Request) -> tuple[str, Callable[[Any, dict[str, Any]], tuple[int, Any]]]:
        name = request.match_info.route.name or "unknown"
        return name, getattr(self, f"_on_{name}")

    def _on_me(self, _: Any, __: dict[str, Any]) -> tuple[int, Any]:
        return 200, _user(BOT_USER_ID, bot=True)

    def _on_application(self, _: Any, __: dict[str, Any]) -> tuple[int, Any]:
        return 200, {
            "id": APPLICATION_ID,
            "name": "Switchboard",
            "description": "",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": _user("800000000000000099"),
            "verify_key": "0" * 64,
            "flags": 0,
        }

    def _on_gateway_bot(self, _: Any, __: dict[str, Any]) -> tuple[int, Any]:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return 200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}

    def _on_create_message(self, match: Any, body: dict[str, Any]) -> tuple[int, Any]:
        channel = match["channel_id"]
        if not self._is_channel(channel):
            return 404, {"code": 10003, "message": "Unknown Channel"}
        nonce = body.get("nonce")
        if nonce and body.get("enforce_nonce"):
            for m in self.messages_by_id.values():
                if m.channel == channel and m.nonce == nonce:
                    return 200, self._json(m)
        m = Message(
            self.new_id_unlocked(),
            channel,
            str(body.get("content", "")),
            list(body.get("embeds") or []),
            list(body.get("components") or []),
            nonce,
            body.get("allowed_mentions"),
        )
        self.messages_by_id[m.id] = m
        return 200, self._json(m)

    def _on_edit_message(self, match: Any, body: dict[str, Any]) -> tuple[int, Any]:
        m = self.messages_by_id.get(match["message_id"])
        if m is None or m.channel != match["channel_id"]:
            return 404, {"code": 10008, "message": "Unknown Message"}
        if "content" in body:
            m.content = str(body["content"])
        if "embeds" in body:
            m.embeds = list(body["embeds"])
        if "components" in body:
            m.components = list(body["components"])
        m.allowed_mentions = body.get("allowed_mentions", m.allowed_mentions)
        m.edits += 1
        return 200, self._json(m)

    def _on_open_dm(self, _: Any, body: dict[str, Any]) -> tuple[int, Any]:
        user = str(body.get("recipient_id", ""))
        if user not in self.dms:
            self.dms[user] = self.new_id_unlocked()
        return 200, {"id": self.dms[user], "type": 1, "last_message_id": None, "recipients": [_user(user)]}

    def _on_typing(self, match: Any, _: dict[str, Any]) -> tuple[int, Any]:
        if not self._is_channel(match["channel_id"]):
            return 404, {"code": 10003, "message": "Unknown Channel"}
        return 204, None

    def _on_open_thread(self, match: Any, body: dict[str, Any]) -> tuple[int, Any]:
        parent, message_id = match["channel_id"], match["message_id"]
        if message_id in self.threads:
            return 400, {"code": 160004, "message": "A thread has already been created for this message"}
        if parent != CHANNEL_ID:
            return 404, {"code": 10003, "message": "Unknown Channel"}
        thread = {
            "id": message_id,
            "guild_id": GUILD_ID,
            "parent_id": parent,
            "owner_id": BOT_USER_ID,
            "type": 11,
            "name": str(body.get("name", "thread")),
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": int(body.get("auto_archive_duration", 1440)),
                "archive_timestamp": _EPOCH,
                "locked": False,
            },
        }
        self.threads[message_id] = thread
        return 201, {**thread, "__events__": [("THREAD_CREATE", {**thread, "newly_created": True})]}

    def _on_callback(self, match: Any, body: dict[str, Any]) -> tuple[int, Any]:
        interaction = match["interaction_id"]
        if interaction in self._acked:
            return 400, {"code": 40060, "message": "Interaction has already been acknowledged."}
        self._acked.add(interaction)
        return 200, {"interaction": {"id": interaction, "type": 3}}

    def _on_followup(self, match: Any, body: dict[str, Any]) -> tuple[int, Any]:
        user = self._interactions.get(match["token"], "")
        if int(body.get("flags", 0)) & 64:
            self.ephemerals.append((user, str(body.get("content", ""))))
        return 200, _message_json(
            self.new_id_unlocked(),
            CHANNEL_ID,
            str(body.get("content", "")),
            [],
            [],
            _user(BOT_USER_ID, bot=True),
        )

    def new_id_unlocked(self) -> str:
        return str(next(self._ids))

    def _is_channel(self, channel: str) -> bool:
        known = (CHANNEL_ID, DM_CHANNEL_ID, *self.threads, *self.dms.values())
        return channel in known

    def _channel_json(self, channel: str) -> dict[str, Any]:
        if channel == DM_CHANNEL_ID or channel in self.dms.values():
            return {"id": channel, "type": 1}
        if channel in self.threads:
            return dict(self.threads[channel])
        return _text_channel(channel)

    def _json(self, m: Message) -> dict[str, Any]:
        return _message_json(m.id, m.channel, m.content, m.embeds, m.components, _user(BOT_USER_ID, bot=True))

    # --- the gateway -----------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": _HEARTBEAT_MS}, "s": None, "t": None})
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    continue
                await self._on_frame(ws, json.loads(frame.data))
        finally:
            with self._lock:
                if ws in self._sockets:
                    self._sockets.remove(ws)
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if op == 1:
            await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            if frame["d"].get("token") != self.token:
                await ws.close(code=4004, message=b"Authentication failed.")
                return
            with self._lock:
                self.identified += 1
            ready = {
                "v": 10,
                "user": _user(BOT_USER_ID, bot=True),
                "guilds": [{"id": GUILD_ID, "unavailable": True}],
                "session_id": f"session-{self.new_id()}",
                "resume_gateway_url": self.gateway_url,
                "application": {"id": APPLICATION_ID, "flags": 0},
                "private_channels": [],
                "relationships": [],
            }
            await self._send(ws, "READY", ready)
            await self._send(ws, "GUILD_CREATE", self._guild())
            with self._lock:
                self._sockets.append(ws)
        elif op == 6:  # RESUME: sessions are not kept; start over
            await ws.send_json({"op": 9, "d": False, "s": None, "t": None})

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for ws in sockets:
            await self._send(ws, event, data)

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        await ws.send_json({"op": 0, "t": event, "s": int(self.new_id()) % 1_000_000, "d": data})

    def _guild(self) -> dict[str, Any]:
        with self._lock:
            threads = [dict(t) for t in self.threads.values()]
        return {
            "id": GUILD_ID,
            "name": "Acme",
            "unavailable": False,
            "owner_id": "800000000000000099",
            "member_count": 3,
            "roles": [_role(GUILD_ID, "@everyone"), _role(ADMIN_ROLE, "Switchboard admins")],
            "channels": [_text_channel(CHANNEL_ID)],
            "threads": threads,
            "members": [],
            "emojis": [],
            "stickers": [],
            "features": [],
        }

    # --- lifetime --------------------------------------------------------------------------
    def start(self) -> FakeDiscord:
        self._served.start()
        return self

    def stop(self) -> None:
        self._served.stop()

    def _app(self) -> web.Application:
        app = web.Application()
        api = "/api/v10"
        app.router.add_get(f"{api}/users/@me", self._rest, name="me")
        app.router.add_get(f"{api}/oauth2/applications/@me", self._rest, name="application")
        app.router.add_get(f"{api}/gateway/bot", self._rest, name="gateway_bot")
        app.router.add_post(f"{api}/channels/{{channel_id}}/messages", self._rest, name="create_message")
        app.router.add_patch(
            f"{api}/channels/{{channel_id}}/messages/{{message_id}}", self._rest, name="edit_message"
        )
        app.router.add_post(f"{api}/channels/{{channel_id}}/typing", self._rest, name="typing")
        app.router.add_post(f"{api}/users/@me/channels", self._rest, name="open_dm")
        app.router.add_post(
            f"{api}/channels/{{channel_id}}/messages/{{message_id}}/threads", self._rest, name="open_thread"
        )
        app.router.add_post(
            f"{api}/interactions/{{interaction_id}}/{{token}}/callback", self._rest, name="callback"
        )
        app.router.add_post(f"{api}/webhooks/{{application_id}}/{{token}}", self._rest, name="followup")
        app.router.add_get("/gateway", self._gateway)
        return app

    async def disconnect_all(self) -> None:
        with self._lock:
            sockets, self._sockets = list(self._sockets), []
        for ws in sockets:
            await ws.close()

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _failure(failure: Failure) -> web.Response:
    if failure.status == 429:
        # Discord's 429s come through Cloudflare with a Via header; discord.py treats one without
        # it as a Cloudflare ban.
        body = {"message": "You are being rate limited.", "retry_after": failure.retry_after, "global": False}
        headers = {"Retry-After": str(failure.retry_after), "Via": "1.1 google", "X-RateLimit-Scope": "user"}
        return _json(body, 429, headers)
    return _error(failure.status, failure.code, f"{failure.status}: failure on demand")


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status)


def _json(value: Any, status: int, headers: dict[str, str] | None = None) -> web.Response:
    """discord.py parses a body as JSON only when the content type is exactly application/json."""
    return web.Response(
        body=json.dumps(value).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _user(user_id: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": "switchboard" if user_id == BOT_USER_ID else f"user{user_id[-4:]}",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": bot,
    }


def _member(person: Person) -> dict[str, Any]:
    return {
        "roles": list(person.roles),
        "joined_at": _EPOCH,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "user": _user(person.id),
    }


def _role(role_id: str, name: str) -> dict[str, Any]:
    return {
        "id": role_id,
        "name": name,
        "permissions": "0",
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
    }


def _text_channel(channel_id: str) -> dict[str, Any]:
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": GUILD_ID,
        "name": "general",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
    }


def _message_json(
    message_id: str,
    channel: str,
    content: str,
    embeds: list[dict[str, Any]],
    components: list[dict[str, Any]],
    author: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": message_id,
        "channel_id": channel,
        "type": 0,
        "content": content,
        "author": author,
        "embeds": embeds,
        "components": components,
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": _EPOCH,
        "edited_timestamp": None,
        "flags": 0,
    }
