"""The Discord surface, wired: the gateway client (messages and clicks in) and the outbox
dispatcher (messages out). The composition root builds one and starts it; `switchboard discord`
runs one on its own.

Starting logs in (REST) and, in the one process that listens, opens the gateway, both in the
background; the dispatcher's sink waits until the login is done, so a Discord outage at start
delays messages and loses none. A bad token is not an outage: it is logged as an error and the
channel stays down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
from starlette.routing import BaseRoute

from channels.delivery import SinkOptions
from channels.discord import endpoints, profile
from channels.discord.actions import DiscordActions
from channels.discord.alerts import DiscordAlerts, DiscordNoticeRenderer
from channels.discord.gateway import GatewayClient
from channels.discord.identity import AdminPolicy, DiscordDirectory
from channels.discord.ingress import DiscordIngress, Routing
from channels.discord.proactive import gone_targets
from channels.discord.profile import SURFACE, DiscordProfile
from channels.discord.renderer import DiscordRenderer
from channels.discord.sink import DiscordSink
from channels.surface import SurfaceDeps, channel_target
from core.alerts.desk import AlertDesk
from core.engine.context import ResponseProfile
from core.outbox_dispatcher import DispatchOptions, OutboxDispatcher
from core.ports import Conversations, SurfacePorts
from core.runtime import Runtime
from core.settings import DiscordSettings, Settings

log = logging.getLogger(__name__)

_LOGIN_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
_EXTRA = {"surface": SURFACE}


def discord_renderer() -> DiscordRenderer:
    """The renderer the store calls for runs on the "discord" surface."""
    return DiscordRenderer(DiscordProfile())


class DiscordChannel:
    def __init__(
        self,
        settings: DiscordSettings,
        runtime: Runtime,
        ports: SurfacePorts,
        alerts: AlertDesk,
        *,
        dispatch: DispatchOptions | None = None,
        sink: SinkOptions | None = None,
    ) -> None:
        if settings.token is None:
            raise ValueError("Discord needs a bot token")
        self._settings = settings
        self.people = DiscordDirectory(
            ports.identities, AdminPolicy(frozenset(settings.admins), settings.admin_role), settings.dm_guild
        )
        ingress = DiscordIngress(
            runtime, self.people, ports.outbox, Routing(settings.default_bot, dict(settings.channel_bots))
        )
        actions = DiscordActions(runtime, self.people, DiscordAlerts(alerts))
        self.client = GatewayClient(
            ingress.on_message, actions.on_interaction, follow_ups=settings.follow_ups
        )
        self.dispatcher = OutboxDispatcher(
            ports.outbox,
            DiscordSink(
                self.client.http,
                ports.outbox,
                self.people.mention,
                self._logged_in,
                sink,
                target_gone=gone_targets(ports),
            ),
            dispatch,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, listen: bool = True) -> None:
        """Log in (in the background) and deliver the outbox; `listen` also opens the gateway, which
        one process should do (`serve` or `switchboard discord`), not every worker."""
        if not listen and not self._settings.deliver:
            return
        endpoints.point_at(self._settings.api_base_url, self._settings.gateway_url)
        self._task = asyncio.create_task(self._run(listen), name="discord-gateway")
        if self._settings.deliver:
            await self.dispatcher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()  # finishes the deliveries in hand while the client is open
        await self.client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def routes(self) -> Sequence[BaseRoute]:
        return []  # Discord's events come over the gateway

    async def wait_until_ready(self, timeout_s: float = 30.0) -> None:
        """Until the gateway said READY (a test's or a CLI's way to know the bot listens)."""
        await asyncio.wait_for(self.client.wait_until_ready(), timeout_s)

    @property
    def active(self) -> bool:
        """Whether the background task (logging in, then the gateway if listening) still runs."""
        return self._task is not None and not self._task.done()

    def _logged_in(self) -> bool:
        return self.client.user is not None

    async def _run(self, listen: bool) -> None:
        try:
            if await self._login() and listen:
                await self.client.connect(reconnect=True)  # reconnects and resumes by itself
        except discord.PrivilegedIntentsRequired:
            log.error(
                "Discord refused the Message Content intent: enable it for the bot in the Developer "
                "Portal, or set SWITCHBOARD_DISCORD__FOLLOW_UPS=false",
                extra=_EXTRA,
            )
        except discord.ClientException as exc:
            log.error("the Discord gateway connection ended: %s", exc, extra=_EXTRA)
        except Exception:  # the task's top: nobody awaits it until stop, so say it now
            log.exception("the Discord gateway connection failed", extra=_EXTRA)

    async def _login(self) -> bool:
        """Log in, waiting out outages; False when Discord refuses the token."""
        assert self._settings.token is not None
        token = self._settings.token.get_secret_value()
        attempt = 0
        while True:
            try:
                await self.client.login(token)
                return True
            except discord.LoginFailure:
                log.error("Discord refused the bot token: the Discord surface stays down", extra=_EXTRA)
                return False
            except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
                delay = _LOGIN_BACKOFF_S[min(attempt, len(_LOGIN_BACKOFF_S) - 1)]
                attempt += 1
                log.warning("Discord login failed (%s); retrying in %.0f s", exc, delay, extra=_EXTRA)
                await asyncio.sleep(delay)


class DiscordSurface:
    """Discord as the composition root registers it (`channels.surface.Surface`)."""

    name = SURFACE
    # A Discord message holds 2,000 characters (longer answers are split).
    response_profile = ResponseProfile(
        markup="Discord Markdown: **bold**, *italic*, `code`, [text](url) links, # headings, - lists",
        max_chars=2000,
        buttons=True,
        attachments=False,
        tables="no tables: a short list, or a table inside a code block",
        code="fenced code blocks with a language tag",
    )

    def enabled(self, settings: Settings) -> bool:
        return settings.discord.enabled

    def renderer(self, settings: Settings) -> DiscordRenderer:
        return discord_renderer()

    def notices(self) -> DiscordNoticeRenderer:
        return DiscordNoticeRenderer()

    def proactive_key(self, target: dict[str, Any], tag: str) -> str:
        return profile.proactive_key(target, tag)

    async def check_target(
        self, conversations: Conversations, tenant_id: str, target: dict[str, Any]
    ) -> dict[str, Any]:
        return profile.check_target(channel_target(self.name, target))

    def build(self, settings: Settings, deps: SurfaceDeps) -> DiscordChannel:
        return DiscordChannel(settings.discord, deps.runtime, deps.ports, deps.alerts)
