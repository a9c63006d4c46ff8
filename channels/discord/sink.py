"""Carrying out Discord outbox items with discord.py's HTTP client, within Discord's limits.

Posts remember their message id (the item's result) so later edits find the message. A post to
a conversation's thread that does not exist yet opens it from the message it hangs on (a thread
started from a message has that message's id) and posts again. Status edits go out at most once
a second and an older edit never overwrites a newer one (`channels.delivery.Pacing`). Every message is sent with no mentions
allowed.

Nothing is sent twice: a post carries a nonce derived from its outbox item with
`enforce_nonce`, so when discord.py or the outbox repeats a post Discord already took (a 5xx or
a timeout after the fact), Discord returns the first message instead of creating another. Edits
are idempotent, and so is opening a thread (Discord says it is already open).

A scheduled run's post may name a user instead of a channel: the DM channel is opened first
(`POST /users/@me/channels`, idempotent on Discord's side) and remembered. When Discord says a
post's place is gone for good (Unknown Channel, Missing Access, a user who takes no DMs), the
`target_gone` callback hears of it, so the schedule behind the run is disabled, not retried.

Nothing is dropped: discord.py waits out short 429s itself (the request was not processed, so
repeating it is safe); longer ones (`RateLimited`, above the client's `max_ratelimit_timeout`)
and 429s it gave up on become `DeliveryRetry(retry_after)`, and so do outages and 5xx. Only
what Discord says can never work (403, 404, a 400 about the message) is `DeliveryRejected`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import discord
from discord.http import HTTPClient, Route

from channels.delivery import Pacing, SinkOptions, with_names
from channels.discord.profile import SURFACE
from core.outbound import OutboxItem
from core.outbox_dispatcher import DeliveryRejected, DeliveryRetry
from core.ports import Outbox

_UNKNOWN_CHANNEL = 10003
_THREAD_EXISTS = 160004
_NO_MENTIONS: dict[str, Any] = {"parse": []}
_THREAD_ARCHIVE_MINUTES = 1440
# A post's place is gone for good: Unknown Channel, Unknown User, Missing Access, and "Cannot send
# messages to this user" (DMs closed, or no shared server left).
_GONE = frozenset({10003, 10013, 50001, 50007})

Mention = Callable[[str, str], Awaitable[str]]  # (tenant id, product user id) -> "<@id>"
TargetGone = Callable[[OutboxItem, str], Awaitable[None]]  # (the item, Discord's error)


class Refused(DeliveryRejected):
    """Discord refused a request for good; `discord_code` (its JSON error code) and `reason`
    (its words, e.g. "Missing Access") say why."""

    def __init__(self, what: str, exc: discord.HTTPException) -> None:
        super().__init__(f"{what}: {exc.status} {exc.text}", code=f"discord_{exc.code}")
        self.discord_code = exc.code
        self.reason = f"{exc.text or exc.status} ({exc.code})"


class DiscordSink:
    surface = SURFACE

    def __init__(
        self,
        http: HTTPClient,
        outbox: Outbox,
        mention: Mention,
        logged_in: Callable[[], bool],
        options: SinkOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        target_gone: TargetGone | None = None,
    ) -> None:
        self._http = http
        self._target_gone = target_gone  # told when a post's place is gone (to disable its schedule)
        self._dms: dict[str, str] = {}  # Discord user id -> their DM channel id
        self._mention = mention
        self._logged_in = logged_in
        self._pacing = Pacing(outbox, options, clock)  # discord.py itself waits out short 429s

    def coalesce_key(self, item: OutboxItem) -> str | None:
        """Edits of one status message, and typing indicators of one run: only the newest counts."""
        payload = item.payload
        if payload.get("op") == "edit" and "seq" in payload:
            return str(payload["ref"])
        if payload.get("op") == "typing":
            return f"typing:{item.run_id}"
        return None

    async def deliver(self, item: OutboxItem) -> dict[str, Any] | None:
        if not self._logged_in():
            raise DeliveryRetry(self._pacing.wait(item), "not logged in to Discord yet")
        op = item.payload.get("op")
        if op == "noop":
            return {"skipped": True}
        if op == "typing":
            return await self._typing(item)
        payload = await with_names(item.tenant_id, item.payload, self._mention)
        if op == "post":
            return await self._post(item, payload)
        if op == "edit":
            return await self._edit(item, payload)
        raise DeliveryRejected(f"unknown Discord outbox operation {op!r}")

    async def _post(self, item: OutboxItem, payload: dict[str, Any]) -> dict[str, Any]:
        await self._pacing.after_earlier(item, payload)
        body = {
            **payload["message"],
            "allowed_mentions": _NO_MENTIONS,
            "nonce": _nonce(item),
            "enforce_nonce": True,
        }
        try:
            message = await self._create(item, body)
        except Refused as exc:
            if exc.discord_code in _GONE and self._target_gone is not None:
                await self._target_gone(item, exc.reason)
            raise
        result: dict[str, Any] = {"id": str(message["id"]), "channel": str(message["channel_id"])}
        if payload.get("card"):  # kept so the decision's edit can show the card without its buttons
            result["embeds"] = payload["message"].get("embeds") or []
        return result

    async def _create(self, item: OutboxItem, body: dict[str, Any]) -> Any:
        """Create the message where the target says: a channel, a DM, or a thread it may open."""
        target = item.target
        channel = str(target.get("channel") or await self._dm(item, str(target["user"])))
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel)
        try:
            return await self._call(item, route, body)
        except discord.NotFound as exc:
            if exc.code != _UNKNOWN_CHANNEL or not target.get("parent"):
                raise Refused("post", exc) from exc
        await self._open_thread(item)
        try:
            return await self._call(item, route, body)
        except discord.NotFound as exc:
            raise Refused("post", exc) from exc

    async def _dm(self, item: OutboxItem, user: str) -> str:
        """The DM channel with a user (opening it again returns the same channel)."""
        if user not in self._dms:
            try:
                channel = await self._call(item, Route("POST", "/users/@me/channels"), {"recipient_id": user})
            except discord.NotFound as exc:
                raise Refused("open DM", exc) from exc
            self._dms[user] = str(channel["id"])
        return self._dms[user]

    async def _open_thread(self, item: OutboxItem) -> None:
        target = item.target
        route = Route(
            "POST",
            "/channels/{channel_id}/messages/{message_id}/threads",
            channel_id=target["parent"],
            message_id=target["channel"],
        )
        body = {
            "name": target.get("thread_name") or "Switchboard",
            "auto_archive_duration": _THREAD_ARCHIVE_MINUTES,
        }
        try:
            await self._call(item, route, body)
        except Refused as exc:
            if exc.discord_code != _THREAD_EXISTS:
                raise
        except discord.NotFound as exc:
            raise Refused("open thread", exc) from exc

    async def _edit(self, item: OutboxItem, payload: dict[str, Any]) -> dict[str, Any]:
        ref = str(payload["ref"])
        posted = await self._pacing.posted(item, ref)
        if posted.get("skipped"):  # a scheduled run's progress message, never posted
            return {"skipped": True}
        seq = payload.get("seq")
        if self._pacing.superseded(ref, seq):
            return {"superseded": True}
        body: dict[str, Any] = {**payload.get("message", {}), "allowed_mentions": _NO_MENTIONS}
        if payload.get("card"):
            body |= {"embeds": [*posted.get("embeds", []), payload["embed"]], "components": []}
        route = Route(
            "PATCH",
            "/channels/{channel_id}/messages/{message_id}",
            channel_id=posted["channel"],
            message_id=posted["id"],
        )
        try:
            await self._call(item, route, body)
        except discord.NotFound as exc:  # deleted by someone: nothing left to edit
            raise DeliveryRejected(f"edit: {exc.text or exc.status}") from exc
        self._pacing.edited(ref, seq)
        return {"id": posted["id"], "channel": posted["channel"]}

    async def _typing(self, item: OutboxItem) -> dict[str, Any]:
        """Best effort: a typing indicator that had to wait is stale, and one that fails is no loss."""
        if item.attempts:
            return {"skipped": "late"}
        route = Route("POST", "/channels/{channel_id}/typing", channel_id=item.target["channel"])
        try:
            await self._http.request(route)
        except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            return {"skipped": type(exc).__name__}
        return {}

    async def _call(self, item: OutboxItem, route: Route, body: dict[str, Any]) -> Any:
        """One REST call; discord.py's exceptions become the outbox's (404 is the caller's)."""
        what = f"{route.method} {route.path}"
        try:
            return await self._http.request(route, json=body)
        except discord.RateLimited as exc:
            raise DeliveryRetry(exc.retry_after, f"{what}: rate limited for {exc.retry_after:.1f} s") from exc
        except discord.NotFound:
            raise
        except discord.HTTPException as exc:
            if exc.status == 429:
                after = _retry_after(exc)
                raise DeliveryRetry(after, f"{what}: rate limited for {after:.1f} s") from exc
            if exc.status in (400, 403, 413):
                raise Refused(what, exc) from exc
            raise DeliveryRetry(self._pacing.backoff(item), f"{what}: {exc.status}") from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryRetry(self._pacing.backoff(item), f"{what}: {type(exc).__name__}") from exc


def _nonce(item: OutboxItem) -> str:
    """The same for every attempt at one item; Discord allows 25 characters."""
    return hashlib.sha256(item.id.encode()).hexdigest()[:25]


def _retry_after(exc: discord.HTTPException) -> float:
    try:
        return max(0.0, float(exc.response.headers.get("Retry-After", 1)))
    except (TypeError, ValueError):
        return 1.0
