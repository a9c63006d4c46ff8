"""The Microsoft Teams surface (Bot Framework): activities in at `POST /api/messages`, replies,
progress and Adaptive Cards out through the outbox. `SURFACE_SPEC` (channel.py's TeamsSurface) is
what the composition root registers."""

from channels.teams.channel import TeamsChannel, TeamsSurface, teams_renderer
from channels.teams.proactive import post_to_conversation

SURFACE_SPEC = TeamsSurface()  # what the composition root registers (channels.surface)

__all__ = ["SURFACE_SPEC", "TeamsChannel", "TeamsSurface", "post_to_conversation", "teams_renderer"]
