"""What a schedule's owner is told when its posts' place is gone and the schedule is paused
(`channels.gone_targets`); each surface says where that place was, in its own markup."""

from __future__ import annotations

from channels.story.dialect import Dialect, Icon
from core.schedule_records import Schedule


def paused(schedule: Schedule, where: str, error: str, d: Dialect) -> str:
    """`where` and `error` come written in the dialect already (a channel mention, say)."""
    return d.icon(
        Icon.WARNING,
        f"I paused your schedule {d.bold(d.escape(schedule.name))} (`{schedule.id}`): "
        f"I can no longer post in {where} ({error}). Resume it once I can post there again.",
    )
