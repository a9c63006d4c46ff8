"""Carrying out Slack outbox items with the Web API, within Slack's limits.

Posts remember their `ts` (the item's result) so later updates find the message. An update
whose message is not posted yet waits; a status message is edited at most once a second and an
older edit never overwrites a newer one (`channels.delivery.Pacing`). A 429 pauses that API
method for its Retry-After; other transient failures back off; only errors about the message
itself (a deleted channel, say) give up on it. SDK exceptions stop here and become
`DeliveryRetry` or `DeliveryRejected`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from channels.delivery import Pacing, SinkOptions, with_names
from channels.slack.assistant import AssistantStatus
from channels.slack.profile import SURFACE
from core.outbound import OutboxItem
from core.outbox_dispatcher import DeliveryRejected, DeliveryRetry
from core.ports import Outbox

# Errors about the message or its place: retrying cannot help.
_PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "no_text",
        "invalid_blocks",
        "invalid_blocks_format",
        "too_many_attachments",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "user_not_in_channel",
        "invalid_arguments",
        "restricted_action",
        "thread_locked",
        "cannot_reply_to_message",
    }
)

# A post's place is gone for good: a proactive (scheduled) target no longer exists.
_GONE = frozenset({"channel_not_found", "not_in_channel", "is_archived"})

Mention = Callable[[str, str], Awaitable[str]]  # (tenant id, product user id) -> "<@U…>"
TargetGone = Callable[[OutboxItem, str], Awaitable[None]]  # (the item, Slack's error)


class SlackSink:
    surface = SURFACE

    def __init__(
        self,
        client: AsyncWebClient,
        outbox: Outbox,
        mention: Mention,
        options: SinkOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        target_gone: TargetGone | None = None,
        assistant: AssistantStatus | None = None,
    ) -> None:
        self._client = client
        self._assistant = assistant  # Slack's assistant thread status, beside the status message
        self._target_gone = target_gone  # told when a post's channel is gone (to disable its schedule)
        self._dms: dict[str, str] = {}  # Slack user id -> their DM channel id
        self._mention = mention
        self._pacing = Pacing(outbox, options, clock)  # rate limits are per API method

    def coalesce_key(self, item: OutboxItem) -> str | None:
        """Edits of one status message: only the newest needs sending."""
        payload = item.payload
        return str(payload["ref"]) if payload.get("op") == "update" and "seq" in payload else None

    async def deliver(self, item: OutboxItem) -> dict[str, Any] | None:
        op = item.payload.get("op")
        if op == "noop":
            return {"skipped": True}
        payload = await with_names(item.tenant_id, item.payload, self._mention)
        if op == "post":
            return await self._post(item, payload)
        if op == "update":
            return await self._update(item, payload)
        if op == "ephemeral":
            await self._call(
                item,
                "chat.postEphemeral",
                channel=item.target["channel"],
                user=payload["user"],
                text=payload["text"],
                **_thread(item.target),
            )
            return {}
        raise DeliveryRejected(f"unknown Slack outbox operation {op!r}")

    async def _post(self, item: OutboxItem, payload: dict[str, Any]) -> dict[str, Any]:
        await self._pacing.after_earlier(item, payload)
        channel = item.target.get("channel") or await self._dm(item, str(item.target["user"]))
        try:
            response = await self._call(
                item,
                "chat.postMessage",
                channel=channel,
                text=payload["text"],
                blocks=payload.get("blocks"),
                unfurl_links=False,
                unfurl_media=False,
                **_thread(item.target),
            )
        except DeliveryRejected as exc:
            gone = exc.code.removeprefix("slack_")
            if gone in _GONE and self._target_gone is not None:
                await self._target_gone(item, gone)
            raise
        result = {"ts": response["ts"], "channel": response["channel"]}
        await self._show_assistant(str(response["channel"]), item, payload)
        if payload.get("card"):  # kept so the decision's edit can show the card without its buttons
            result["blocks"] = payload.get("blocks") or []
        return result

    async def _update(self, item: OutboxItem, payload: dict[str, Any]) -> dict[str, Any]:
        ref = str(payload["ref"])
        posted = await self._pacing.posted(item, ref)
        if posted.get("skipped"):
            return {"skipped": True}
        seq = payload.get("seq")
        if self._pacing.superseded(ref, seq):
            return {"superseded": True}
        new_blocks = payload.get("blocks")
        if payload.get("card"):
            new_blocks = [b for b in posted.get("blocks") or [] if b.get("type") != "actions"] + (
                new_blocks or []
            )
        await self._call(
            item,
            "chat.update",
            channel=posted["channel"],
            ts=posted["ts"],
            text=payload["text"],
            blocks=new_blocks,
        )
        self._pacing.edited(ref, seq)
        await self._show_assistant(str(posted["channel"]), item, payload)
        return {"ts": posted["ts"], "channel": posted["channel"]}

    async def _show_assistant(self, channel: str, item: OutboxItem, payload: dict[str, Any]) -> None:
        if self._assistant is not None and "assistant" in payload:
            await self._assistant.show(channel, item.target.get("thread_ts"), str(payload["assistant"]))

    async def _call(self, item: OutboxItem, method: str, **args: Any) -> AsyncSlackResponse:
        self._pacing.check_paused(method, method)
        try:
            return await self._client.api_call(method, json={k: v for k, v in args.items() if v is not None})
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
            if exc.response.status_code == 429 or error == "ratelimited":
                after = _retry_after(exc.response.headers)
                self._pacing.pause(method, after)
                raise DeliveryRetry(after, f"{method}: rate limited for {after:.0f} s") from exc
            if error in _PERMANENT:
                raise DeliveryRejected(f"{method}: {error}", code=f"slack_{error}") from exc
            raise DeliveryRetry(self._pacing.backoff(item), f"{method}: {error}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryRetry(self._pacing.backoff(item), f"{method}: {type(exc).__name__}") from exc

    async def _dm(self, item: OutboxItem, user: str) -> str:
        """The direct-message channel with a user (conversations.open is idempotent on Slack's side)."""
        if user not in self._dms:
            response = await self._call(item, "conversations.open", users=user)
            self._dms[user] = str(response["channel"]["id"])
        return self._dms[user]


def _thread(target: dict[str, Any]) -> dict[str, Any]:
    return {"thread_ts": target["thread_ts"]} if target.get("thread_ts") else {}


def _retry_after(headers: Any) -> float:
    try:
        return max(1.0, float(headers.get("Retry-After", 1)))
    except (TypeError, ValueError):
        return 1.0
