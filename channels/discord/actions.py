"""Button clicks → decisions. Clicks arrive as gateway interactions; a button's custom id names
the approval or question and the choice (see `cards`), so no view lives in memory and a card
posted before a restart still works after it. Alert cards' buttons (`sb:alert:` ids) take the
same path to `alerts.DiscordAlerts`.

Each click is acknowledged first (a deferred update, well within Discord's 3 s), then decided
through the core, which says who may decide. A refused click gets an ephemeral follow-up (only
the clicker sees it) and changes nothing. A recorded decision reaches the card through the
renderer and the outbox, which edit it to say who decided and remove its buttons.

The refusal goes straight to Discord, not through the outbox: it answers this interaction with
its token, a 15-minute credential that is not worth persisting, and if it is lost the person
simply clicks again.
"""

from __future__ import annotations

import logging

import discord

from channels import refusals
from channels.discord.alerts import AlertClick, DiscordAlerts, parse_alert_click
from channels.discord.cards import Click, parse_custom_id
from channels.discord.identity import DiscordDirectory
from channels.discord.ingress import roles_of
from channels.discord.markup import neutralise
from channels.discord.profile import SURFACE
from core.errors import InvalidInput, MisuseError
from core.records import Principal
from core.runtime import Runtime

log = logging.getLogger(__name__)


class DiscordActions:
    def __init__(self, runtime: Runtime, people: DiscordDirectory, alerts: DiscordAlerts) -> None:
        self._runtime = runtime
        self._people = people
        self._alerts = alerts  # alert cards' buttons (`sb:alert:` ids)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.component or interaction.data is None:
            return
        custom_id = str(interaction.data.get("custom_id", ""))
        click = parse_custom_id(custom_id) or parse_alert_click(custom_id)
        if click is None:
            return  # not one of our buttons
        try:
            await interaction.response.defer()
        except discord.HTTPException as exc:  # acknowledged already (a replayed event) or expired
            log.info("Discord interaction not acknowledged: %s", exc, extra={"surface": SURFACE})
            return
        try:
            who = await self._who(interaction)
            if isinstance(click, AlertClick):
                await self._alerts.act(who, click, interaction)
            else:
                await self._decide(who, click)
        except MisuseError as exc:
            log.info("Discord click refused: %s", exc.code, extra={"surface": SURFACE})
            await _tell(interaction, refusals.explain(exc, neutralise))

    async def _who(self, interaction: discord.Interaction) -> Principal:
        guild = str(interaction.guild_id) if interaction.guild_id else None
        tenant_id = await self._people.tenant(guild)
        return await self._people.principal(tenant_id, str(interaction.user.id), roles_of(interaction.user))

    async def _decide(self, who: Principal, click: Click) -> None:
        if click.kind == "approval":
            if click.choice not in ("approve", "deny"):
                raise InvalidInput("that button is not one I know")
            await self._runtime.decide(who, click.item_id, approve=click.choice == "approve")
            return
        # The options are on the card the clicker sees; the core decides whether they may answer.
        index = int(click.choice) if click.choice.isdigit() else -1  # -1: not on offer
        await self._runtime.answer_option(who, click.item_id, index)


async def _tell(interaction: discord.Interaction, text: str) -> None:
    try:
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException as exc:
        log.warning("could not tell a Discord user why their click was refused: %s", exc)
