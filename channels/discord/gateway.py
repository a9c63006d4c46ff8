"""The gateway connection: a discord.Client that only listens and hands what it hears to the
ingress (messages) and the actions (button clicks). Everything it sends goes through the outbox,
except the acknowledgement of a click and an ephemeral refusal (see `actions`).

Intents, as few as the job needs:
    guilds           guild, channel, thread and role caches: a message's thread and its parent,
                     and the roles that make someone an admin
    guild_messages   @mentions and thread follow-ups in guilds
    dm_messages      direct messages
    message_content  privileged, and only with `follow_ups`: Discord gives a bot the content of
                     messages that mention it and of DMs anyway, but not of an unmentioned reply
                     in a conversation's thread
Members, presences and reactions are not asked for; interactions need no intent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

MessageHandler = Callable[[discord.Message, discord.ClientUser | None], Awaitable[None]]
InteractionHandler = Callable[[discord.Interaction], Awaitable[None]]


def intents(*, follow_ups: bool) -> discord.Intents:
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.dm_messages = True
    wanted.message_content = follow_ups
    return wanted


class GatewayClient(discord.Client):
    def __init__(
        self, on_message: MessageHandler, on_interaction: InteractionHandler, *, follow_ups: bool
    ) -> None:
        super().__init__(
            intents=intents(follow_ups=follow_ups),
            max_messages=None,  # no message cache: the store is the memory
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            allowed_mentions=discord.AllowedMentions.none(),
            # Short 429s are waited out inside discord.py; longer ones raise `RateLimited`, so the
            # outbox waits instead of holding a delivery (30 s is discord.py's least allowed).
            max_ratelimit_timeout=30.0,
        )
        self._handle_message = on_message
        self._handle_interaction = on_interaction

    async def on_message(self, message: discord.Message) -> None:
        await self._handle_message(message, self.user)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self._handle_interaction(interaction)
