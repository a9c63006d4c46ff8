"""Hysteresis: one incident, one alert. An incident opens after `open_after` consecutive anomalous
points and resolves after `resolve_after` consecutive normal ones, so a noisy series flapping
around a bound does not open and close an alert on every point.

A point without a verdict (the detector's baseline is still filling) counts as normal: a check
never alerts before it knows what normal looks like.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Change(StrEnum):
    OPENED = "opened"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Hysteresis:
    open_after: int = 1
    resolve_after: int = 3

    def __post_init__(self) -> None:
        if self.open_after < 1 or self.resolve_after < 1:
            raise ValueError("open_after and resolve_after must be at least 1")

    def step(self, streaks: Streaks, anomalous: bool | None) -> tuple[Streaks, Change | None]:
        """The streaks after one more point, and whether an incident opened or resolved at it."""
        if anomalous:
            bad = streaks.anomalous + 1
            if not streaks.incident and bad >= self.open_after:
                return Streaks(bad, 0, True), Change.OPENED
            return Streaks(bad, 0, streaks.incident), None
        good = streaks.normal + 1
        if streaks.incident and good >= self.resolve_after:
            return Streaks(0, good, False), Change.RESOLVED
        return Streaks(0, good, streaks.incident), None


@dataclass(frozen=True)
class Streaks:
    anomalous: int = 0  # consecutive anomalous points up to now
    normal: int = 0  # consecutive normal points up to now
    incident: bool = False  # an incident is open
