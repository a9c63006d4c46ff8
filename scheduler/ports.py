"""The scheduler's ports: the schedule record and the fire-handler protocol other kinds plug into.

The firing loop claims each (schedule, fire time) exactly once, then dispatches by `schedule.kind`:
"digest" is built in; every other kind goes to a FireHandler passed to the scheduler (for example
the anomaly checks). A handler raising scheduler.ports.FireDeferred asks for the same fire to be
retried later (the claim is released, not lost); any other exception marks the fire failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from core.schedule_records import Misfire, Schedule

__all__ = ["DigestSource", "FireDeferred", "FireHandler", "Misfire", "Schedule"]


class FireDeferred(Exception):
    """Raised by a handler that cannot fire now (tenant busy): retry the same fire after `after_s`."""

    def __init__(self, reason: str, after_s: float = 5.0) -> None:
        super().__init__(reason)
        self.after_s = after_s


class FireHandler(Protocol):
    async def fire(self, schedule: Schedule, fire_at: datetime) -> None:
        """Act on one claimed fire. `fire_at` is the nominal fire time, timezone-aware UTC."""
        ...


class DigestSource(Protocol):
    """Context a digest is given, by name (a bot lists the names it wants in `Bot.digest_context`).
    Built in: "activity" (runs, approvals, failures and cost). Part of the alerting adds "alerts"."""

    async def section(self, schedule: Schedule, since: float, until: float) -> str | None:
        """A short plain-text section for the digest prompt, or None when there is nothing to say."""
        ...
