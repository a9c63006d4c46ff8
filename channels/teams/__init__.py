"""The Microsoft Teams surface (Bot Framework): activities in at `POST /api/messages`, replies,
progress and Adaptive Cards out through the outbox."""

from channels.teams.channel import TeamsChannel, teams_renderer
from channels.teams.proactive import post_to_conversation

__all__ = ["TeamsChannel", "post_to_conversation", "teams_renderer"]
