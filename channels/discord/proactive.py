"""When a scheduled post's place on Discord is gone (the channel deleted, the bot removed from it,
the user unreachable by DM): the schedule is disabled and its owner told in a DM
(`channels.gone_targets`), in these words."""

from __future__ import annotations

from typing import Any

from channels.discord.cards import DISCORD
from channels.discord.markup import neutralise
from channels.discord.profile import SURFACE
from channels.gone_targets import GoneTargets
from channels.story.schedules import paused
from core.outbound import OutboxItem
from core.ports import SurfacePorts
from core.schedule_records import Schedule


def gone_targets(ports: SurfacePorts) -> GoneTargets:
    return GoneTargets(ports, SURFACE, _owner_notice)


def _owner_notice(item: OutboxItem, schedule: Schedule, error: str) -> dict[str, Any]:
    where = f"<#{item.target['channel']}>" if item.target.get("channel") else "that direct message"
    return {"op": "post", "message": {"content": paused(schedule, where, neutralise(error), DISCORD)}}
