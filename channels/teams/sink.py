"""Carrying out Teams outbox items with the Bot Connector API, within Teams' limits.

Every item names a stored conversation; its reference says where to send. Posts remember the
new activity's id (the item's result) so later updates find it; a card post also keeps the card,
so its decided form can be built from it. An update whose activity is not posted yet waits; the
progress message is edited at most once a second and an older edit never overwrites a newer
one (`channels.delivery.Pacing`). A 429 pauses all sends for its Retry-After; other transient failures back off; only
answers about the message itself (400, 403, 404, 413) give up on it.

A target marked `top_level` (a scheduled run's) starts a new post: in a channel, the message goes
to the channel itself, not under the thread the conversation was stored from. When a post's
conversation is gone for good (never stored, or the connector answers 403/404: the bot was
removed, the chat deleted), the `target_gone` callback hears of it, so the schedule behind the
run is disabled instead of failing at every fire.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp

from channels.delivery import Pacing, SinkOptions, with_names
from channels.teams import activity, cards
from channels.teams.connector import ConnectorClient, ConnectorError
from channels.teams.markdown import escape
from channels.teams.profile import SURFACE
from core.outbound import OutboxItem
from core.outbox_dispatcher import DeliveryRejected, DeliveryRetry
from core.ports import Conversations, Outbox
from core.records import ConversationReference as Conversation

_PERMANENT = frozenset({400, 403, 404, 410, 413})
# The bot may not post there any more (403), or the conversation is no more (404).
_GONE = frozenset({"teams_403", "teams_404"})
_NOT_STORED = "no stored Teams conversation for this item"
_ALL = "all sends"  # a 429 from the connector pauses every send

Names = Callable[[str, str], Awaitable[str]]  # (tenant id, product user id) -> display name
TargetGone = Callable[[OutboxItem, str], Awaitable[None]]  # (the item, what the connector said)


class TeamsSink:
    surface = SURFACE

    def __init__(
        self,
        connector: ConnectorClient,
        conversations: Conversations,
        outbox: Outbox,
        names: Names,
        options: SinkOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        target_gone: TargetGone | None = None,
    ) -> None:
        self._connector = connector
        self._target_gone = target_gone  # told when a post's conversation is gone (to disable its schedule)
        self._conversations = conversations
        self._names = names
        self._pacing = Pacing(outbox, options, clock)

    def coalesce_key(self, item: OutboxItem) -> str | None:
        """Edits of one progress message: only the newest needs sending."""
        payload = item.payload
        return str(payload["ref"]) if payload.get("op") == "update" and "seq" in payload else None

    async def deliver(self, item: OutboxItem) -> dict[str, Any] | None:
        op = item.payload.get("op")
        if op == "noop":
            return {"skipped": True}
        conversation = await self._conversations.get(item.tenant_id, str(item.target.get("conversation")))
        if conversation is None:
            if op == "post":
                await self._gone(item, _NOT_STORED)
            raise DeliveryRejected(_NOT_STORED)
        if item.target.get("top_level"):
            conversation = _top_level(conversation)
        payload = await with_names(item.tenant_id, item.payload, self._name)
        if op == "typing":
            typing = activity.typing(conversation)
            await self._call(
                item,
                lambda: self._connector.send(conversation.service_url, conversation.conversation_id, typing),
            )
            return {}
        if op == "post":
            return await self._post(item, conversation, payload)
        if op == "update":
            return await self._update(item, conversation, payload)
        raise DeliveryRejected(f"unknown Teams outbox operation {op!r}")

    async def _post(
        self, item: OutboxItem, conversation: Conversation, payload: dict[str, Any]
    ) -> dict[str, Any]:
        await self._pacing.after_earlier(item, payload)
        card = payload.get("card")
        body = (
            activity.card_message(conversation, card, str(payload.get("text", "")))
            if card is not None
            else activity.message(conversation, str(payload["text"]))
        )
        try:
            posted = await self._call(
                item,
                lambda: self._connector.send(
                    conversation.service_url, conversation.conversation_id, body, conversation.reply_to_id
                ),
            )
        except DeliveryRejected as exc:
            if exc.code in _GONE:
                await self._gone(item, exc.message)
            raise
        result: dict[str, Any] = {"id": posted}
        if card is not None:  # kept so the decision's update can show the card without its buttons
            result["card"] = card
        return result

    async def _update(
        self, item: OutboxItem, conversation: Conversation, payload: dict[str, Any]
    ) -> dict[str, Any]:
        ref = str(payload["ref"])
        posted = await self._pacing.posted(item, ref)
        if posted.get("skipped"):  # a scheduled run's progress message, never posted
            return {"skipped": True}
        seq = payload.get("seq")
        if self._pacing.superseded(ref, seq):
            return {"superseded": True}
        if "card" in payload:  # a notice's card (an alert), replaced whole
            body = activity.card_message(conversation, payload["card"], str(payload.get("text", "")))
        elif "outcome" in payload:
            card = cards.decided(posted.get("card") or cards.notice("Decided"), payload["outcome"])
            body = activity.card_message(conversation, card, "Decided")
        else:
            body = activity.message(conversation, str(payload["text"]))
        await self._call(
            item,
            lambda: self._connector.update(
                conversation.service_url, conversation.conversation_id, posted["id"], body
            ),
        )
        self._pacing.edited(ref, seq)
        return {"id": posted["id"]}

    async def _call(self, item: OutboxItem, call: Callable[[], Awaitable[Any]]) -> Any:
        self._pacing.check_paused(_ALL, "the connector")
        try:
            return await call()
        except ConnectorError as exc:
            if exc.status == 429:
                after = max(1.0, exc.retry_after or 1.0)
                self._pacing.pause(_ALL, after)
                raise DeliveryRetry(after, f"rate limited for {after:.0f} s") from exc
            if exc.status in _PERMANENT:
                raise DeliveryRejected(str(exc), code=f"teams_{exc.status}") from exc
            raise DeliveryRetry(self._pacing.backoff(item), str(exc)) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryRetry(self._pacing.backoff(item), type(exc).__name__) from exc

    async def _gone(self, item: OutboxItem, error: str) -> None:
        if self._target_gone is not None:
            await self._target_gone(item, error)

    async def _name(self, tenant_id: str, user_id: str) -> str:
        return escape(await self._names(tenant_id, user_id))


def _top_level(conversation: Conversation) -> Conversation:
    """The conversation as a place for a new post: a channel's own id, with no thread to reply in
    (a chat's id has no thread part, so it stays as it is)."""
    base = conversation.conversation_id.split(";messageid=", 1)[0]
    return replace(conversation, conversation_id=base, reply_to_id=None)
