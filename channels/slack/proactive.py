"""When a scheduled post's channel is gone (deleted, archived, the bot removed): the schedule is
disabled and its owner told in a direct message (`channels.gone_targets`), in these words."""

from __future__ import annotations

from typing import Any

from channels.gone_targets import GoneTargets
from channels.slack.blocks import SLACK
from channels.slack.profile import SURFACE
from channels.story.schedules import paused
from core.outbound import OutboxItem
from core.ports import SurfacePorts
from core.schedule_records import Schedule


def gone_targets(ports: SurfacePorts) -> GoneTargets:
    return GoneTargets(ports, SURFACE, _owner_notice)


def _owner_notice(item: OutboxItem, schedule: Schedule, error: str) -> dict[str, Any]:
    where = f"<#{item.target['channel']}>" if item.target.get("channel") else "its target"
    return {"op": "post", "text": paused(schedule, where, error, SLACK)}
