"""Discord messages → runs: @mentions in guild channels and threads, DMs, and follow-ups in
threads that already are a conversation. Each message is recorded with its run (one
transaction) and the handler returns; the model is never waited on.

A message seen twice (a gateway RESUME replays what was missed) is deduplicated by its message id
in the store's inbound events. Bots, this bot included, are never answered, so the bot never
talks to itself or to another bot in a loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field

import discord

from channels.discord.identity import DiscordDirectory
from channels.discord.markup import neutralise
from channels.discord.profile import SURFACE, thread_key
from core.errors import MisuseError, StoreError
from core.ports import Outbox
from core.runtime import Runtime, Submission

log = logging.getLogger(__name__)

_HUMAN_TYPES = {discord.MessageType.default, discord.MessageType.reply}


@dataclass(frozen=True)
class Routing:
    """Which bot answers where (a thread goes by its parent channel)."""

    default_bot: str = "support"
    channel_bots: dict[str, str] = field(default_factory=dict)

    def bot_for(self, channel: str) -> str:
        return self.channel_bots.get(channel, self.default_bot)


@dataclass(frozen=True)
class StoreRetry:
    first_s: float = 0.2
    give_up_s: float = 30.0  # then the person is asked to send the message again


async def _say_unrecorded(message: discord.Message) -> None:
    """Straight to Discord: the outbox lives in the store that is down."""
    try:
        await message.reply(
            "Sorry, I could not take this message just now (my storage is unavailable). "
            "Please send it again in a minute.",
            mention_author=False,
            allowed_mentions=discord.AllowedMentions.none(),
        )
    except discord.HTTPException as exc:
        log.warning("could not tell the author either: %s", exc, extra={"discord_message": message.id})


def roles_of(author: discord.User | discord.Member) -> frozenset[str] | None:
    """The author's role ids in the guild; None outside a guild (a DM), where they are unknown."""
    if isinstance(author, discord.Member):
        return frozenset(str(role.id) for role in author.roles)
    return None


def clean_text(text: str, bot_user_id: int | None) -> str:
    """The words addressed to the bot: its own mention removed."""
    if bot_user_id is not None:
        text = re.sub(rf"<@!?{bot_user_id}>", "", text)
    return text.strip()


class DiscordIngress:
    def __init__(
        self,
        runtime: Runtime,
        people: DiscordDirectory,
        outbox: Outbox,
        routing: Routing,
        retry: StoreRetry | None = None,
    ) -> None:
        self._retry = retry or StoreRetry()
        self._runtime = runtime
        self._people = people
        self._outbox = outbox
        self._routing = routing

    async def on_message(self, message: discord.Message, me: discord.ClientUser | None) -> None:
        """Take a message. The gateway never delivers it again, so a store that is down is waited
        for (bounded; the dedupe by message id makes a repeat harmless); if it stays down, the
        person is told in place to send it again, rather than the message vanishing."""
        delay = self._retry.first_s
        deadline = asyncio.get_running_loop().time() + self._retry.give_up_s
        while True:
            try:
                await self._take(message, me)
                return
            except StoreError as exc:
                if asyncio.get_running_loop().time() + delay > deadline:
                    log.error(
                        "Discord message not recorded: the store stayed unavailable (%s)",
                        exc,
                        extra={"surface": SURFACE, "discord_message": message.id},
                    )
                    await _say_unrecorded(message)
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _take(self, message: discord.Message, me: discord.ClientUser | None) -> None:
        if message.author.bot or message.type not in _HUMAN_TYPES or me is None:
            return  # bots (and so ourselves), and system messages (pins, joins, thread starts)
        if message.author.id == me.id:
            return
        channel = message.channel
        if message.guild is None:
            await self._submit(message, me, thread_key(str(channel.id)), str(channel.id), None)
            return
        if isinstance(channel, discord.Thread):
            key, home = thread_key(str(channel.parent_id), str(channel.id)), str(channel.parent_id)
        else:
            key, home = thread_key(str(channel.id), str(message.id)), str(channel.id)
        guild = str(message.guild.id)
        if me in message.mentions or await self._follows_up(channel, guild, key):
            await self._submit(message, me, key, home, guild)

    async def _follows_up(self, channel: object, guild: str, key: str) -> bool:
        """A message in a thread that already is a conversation with a bot needs no mention."""
        if not isinstance(channel, discord.Thread):
            return False
        return await self._runtime.has_conversation(await self._people.tenant(guild), SURFACE, key)

    async def _submit(
        self, message: discord.Message, me: discord.ClientUser, key: str, home: str, guild: str | None
    ) -> None:
        text = clean_text(message.content, me.id)
        if not text:
            return
        extra = {"surface": SURFACE, "discord_message": message.id}
        try:
            tenant_id = await self._people.tenant(guild)
        except MisuseError as exc:  # a DM with no DM guild configured: nowhere to record it
            log.info("Discord message not taken: %s", exc.message, extra=extra)
            return
        who = await self._people.principal(tenant_id, str(message.author.id), roles_of(message.author))
        sub = Submission(
            bot=self._routing.bot_for(home),
            text=text,
            surface=SURFACE,
            thread_key=key,
            event_id=str(message.id),
        )
        try:
            submitted = await self._runtime.submit(who, sub)
        except MisuseError as exc:  # retrying will not help (or not now): say why, in place
            log.warning("Discord message refused: %s", exc.code, extra={"tenant": tenant_id, **extra})
            await self._outbox.put(
                tenant_id=tenant_id,
                surface=SURFACE,
                dedupe_key=f"discord:refused:{message.id}",
                target={"channel": str(message.channel.id)},  # where it was said, thread or not
                payload={
                    "op": "post",
                    "message": {
                        "content": f"Sorry, I cannot take this message: {neutralise(exc.message)}",
                        "message_reference": {"message_id": str(message.id), "fail_if_not_exists": False},
                    },
                },
            )
            return
        if submitted.created and submitted.run is not None:
            log.debug(
                "Discord message accepted", extra={"tenant": tenant_id, "run_id": submitted.run.id, **extra}
            )
