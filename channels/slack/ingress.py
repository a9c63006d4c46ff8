"""Slack events → runs: @mentions in channels, DMs, and follow-ups in threads that already are a
conversation. Each handler records the message and creates its run (one transaction) and returns;
the model is never waited on.

A retried event is deduplicated by its `event_id` in the store, so a retry of an event we did
record is dropped and a retry of one we never recorded is processed. Messages from this app are
always ignored, other bots' unless configured, so the bot never talks to itself. An event whose
fields are not what Slack sends (a text that is no string, no user, an id that is no Slack id)
is acknowledged and ignored: a retry would carry the same fields.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from channels.slack.identity import SlackDirectory
from channels.slack.mrkdwn import escape
from channels.slack.payload import ident, text
from channels.slack.profile import SURFACE, thread_key
from core.errors import InvalidInput, UnknownBot
from core.ports import Outbox
from core.runtime import Runtime, Submission

log = logging.getLogger(__name__)

_HUMAN_SUBTYPES = {None, "file_share", "thread_broadcast"}


@dataclass(frozen=True)
class Routing:
    """Which bot answers where."""

    default_bot: str = "support"
    channel_bots: dict[str, str] = field(default_factory=dict)
    ignore_bots: bool = True

    def bot_for(self, channel: str) -> str:
        return self.channel_bots.get(channel, self.default_bot)


def clean_text(text: str, bot_user_id: str | None) -> str:
    """The words addressed to the bot: its own mention removed, Slack's escapes undone."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


class SlackIngress:
    def __init__(self, runtime: Runtime, people: SlackDirectory, outbox: Outbox, routing: Routing) -> None:
        self._runtime = runtime
        self._people = people
        self._outbox = outbox
        self._routing = routing

    def register(self, app: AsyncApp) -> None:
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)

    async def on_mention(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if self._from_a_bot(event, context):
            return
        await self._submit(body, event, context)

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        subtype = event.get("subtype")
        if (subtype is not None and not isinstance(subtype, str)) or subtype not in _HUMAN_SUBTYPES:
            return
        if self._from_a_bot(event, context):
            return
        if event.get("channel_type") == "im":
            await self._submit(body, event, context)
            return
        if context.bot_user_id and f"<@{context.bot_user_id}" in text(event, "text"):
            return  # an @mention: Slack sends it as app_mention too, and that one is ours
        channel, thread_ts = ident(event, "channel"), ident(event, "thread_ts")
        if channel is None or thread_ts is None:
            return
        tenant_id = await self._tenant(context)
        key = thread_key(channel, thread_ts)
        if await self._runtime.has_conversation(tenant_id, SURFACE, key):
            await self._submit(body, event, context)

    def _from_a_bot(self, event: dict[str, Any], context: AsyncBoltContext) -> bool:
        bot_id, user = event.get("bot_id"), ident(event, "user")
        if (bot_id and bot_id == context.bot_id) or (user and user == context.bot_user_id):
            return True  # never our own messages, whatever the settings say
        return bool(bot_id or event.get("subtype") == "bot_message") and self._routing.ignore_bots

    async def _tenant(self, context: AsyncBoltContext) -> str:
        return await self._people.tenant(
            context.team_id, context.enterprise_id, bool(context.is_enterprise_install)
        )

    async def _submit(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        words = clean_text(text(event, "text"), context.bot_user_id)
        user, channel = ident(event, "user"), ident(event, "channel")
        root = ident(event, "thread_ts") or ident(event, "ts")
        if not words or not user or not channel or not root:
            return
        tenant_id = await self._tenant(context)
        who = await self._people.principal(tenant_id, user)
        key = thread_key(channel, root)
        sub = Submission(
            bot=self._routing.bot_for(channel),
            text=words,
            surface=SURFACE,
            thread_key=key,
            event_id=ident(body, "event_id"),
        )
        try:
            submitted = await self._runtime.submit(who, sub)
        except (InvalidInput, UnknownBot) as exc:  # retrying will not help: tell the person, ack
            log.warning(
                "Slack message refused: %s", exc.code, extra={"tenant": tenant_id, "surface": SURFACE}
            )
            await self._outbox.put(
                tenant_id=tenant_id,
                surface=SURFACE,
                dedupe_key=f"slack:refused:{ident(body, 'event_id')}",
                target={"channel": channel, "thread_ts": key.partition(":")[2]},
                payload={
                    "op": "ephemeral",
                    "user": user,
                    "text": f"Sorry, I cannot take this message: {escape(exc.message)}",
                },
            )
            return
        if submitted.created and submitted.run is not None:
            log.debug(
                "Slack message accepted",
                extra={"tenant": tenant_id, "run_id": submitted.run.id, "surface": SURFACE},
            )
