"""The chat surfaces this service runs: the one place a surface is registered. Every part of the
root that deals with surfaces (renderers, alert cards, channels, routes, schedule targets) loops
over `SURFACES`; the order is the start and stop order."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from channels import discord, slack, teams
from channels.surface import Surface
from core.settings import Settings

SURFACES: tuple[Surface, ...] = (slack.SURFACE_SPEC, teams.SURFACE_SPEC, discord.SURFACE_SPEC)


def enabled(settings: Settings) -> list[Surface]:
    """The surfaces these settings configure."""
    return [surface for surface in SURFACES if surface.enabled(settings)]


def setup_routes(settings: Settings) -> Sequence[BaseRoute]:
    """What a platform checks while its surface is being set up, before the secrets that enable
    it are set: Slack verifies its request URL when the app is created from the manifest."""
    return slack.SURFACE_SPEC.setup_routes(settings)
