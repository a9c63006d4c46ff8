"""The Discord surface: @mentions, DMs and thread follow-ups become runs; runs come back in a
thread of their own, one progress message edited in place with the typing indicator, and
approval and question cards with buttons that survive a restart.

    channel.py    DiscordChannel: the gateway client and the outbox dispatcher;
                  DiscordSurface (SURFACE_SPEC), what the composition root registers
    gateway.py    the discord.Client (minimal intents) that hands events on
    endpoints.py  where discord.py connects (Discord, a proxy, a local stand-in)
    ingress.py    messages → runs (dedupe by message id, never answering bots)
    actions.py    button clicks → decisions and answers
    identity.py   guild → tenant, Discord user → product user, admins
    renderer.py   run events → outbox items (pure), under the Discord response profile
    cards.py      approval and question cards;  markup.py, split.py  safe markdown, in pieces
    sink.py       outbox items → REST calls, within Discord's rate limits, never twice
    proactive.py  a scheduled post's target gone → its schedule disabled, the owner told
"""

from channels.discord import endpoints
from channels.discord.channel import DiscordChannel, DiscordSurface, discord_renderer
from channels.discord.renderer import DiscordRenderer

SURFACE_SPEC = DiscordSurface()  # what the composition root registers (channels.surface)

__all__ = [
    "SURFACE_SPEC",
    "DiscordChannel",
    "DiscordRenderer",
    "DiscordSurface",
    "discord_renderer",
    "endpoints",
]
