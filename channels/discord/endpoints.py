"""Where discord.py connects: Discord itself, or a proxy or local stand-in.

discord.py 2.x builds every REST URL from the class attribute `discord.http.Route.BASE` and opens
an unsharded client's first gateway connection at `DiscordWebSocket.DEFAULT_GATEWAY` (it no longer
asks `GET /gateway/bot`; READY then names the gateway to resume on). Neither is a constructor
option, so an override is process-wide: one Discord application per process, which is how
Switchboard runs it. `point_at` sets both and `reset` restores Discord's own.
"""

from __future__ import annotations

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

_API = Route.BASE
_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY


def point_at(api_base_url: str | None, gateway_url: str | None) -> None:
    """Use these endpoints (None: Discord's). `api_base_url` includes the version: `…/api/v10`."""
    Route.BASE = api_base_url.rstrip("/") if api_base_url else _API
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url) if gateway_url else _GATEWAY


def reset() -> None:
    point_at(None, None)
