"""The alert lifecycle: one state enum, one transition table, and the record the store hands out.

    open ──► acknowledged ──► resolved
      │           │              ▲
      └──► silenced (until t) ───┘      a lapsed silence returns to open (or acknowledged)

Resolved is final: the next incident of the same check is a new alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.errors import IllegalTransition


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SILENCED = "silenced"
    RESOLVED = "resolved"


A = AlertStatus
TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    A.OPEN: frozenset({A.ACKNOWLEDGED, A.SILENCED, A.RESOLVED}),
    A.ACKNOWLEDGED: frozenset({A.SILENCED, A.RESOLVED}),
    A.SILENCED: frozenset({A.OPEN, A.ACKNOWLEDGED, A.RESOLVED}),
    A.RESOLVED: frozenset(),
}
LIVE = frozenset({A.OPEN, A.ACKNOWLEDGED, A.SILENCED})


def check_transition(current: AlertStatus, target: AlertStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"an alert cannot go from {current} to {target}")


def sources_of(target: AlertStatus) -> frozenset[AlertStatus]:
    """Every status from which `target` may be reached: the guard of a conditional UPDATE."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


@dataclass(frozen=True)
class Alert:
    id: str
    tenant_id: str
    check_id: str  # the schedule whose check raised it
    owner_id: str  # the schedule's owner: may silence, like an admin
    bot: str  # the bot that investigates
    target: dict[str, Any]  # where its notices go (surface-neutral)
    title: str
    metric: str
    detector: str
    value: float
    incident_ts: float  # the metric timestamp of the point that opened it
    narration: str
    status: AlertStatus
    notified: bool  # False when a silence on the check kept its card from being posted
    acked_by: str | None
    silenced_by: str | None
    silenced_until: float | None
    investigation_run_id: str | None
    resolved_at: float | None
    version: int
    created_at: float
    updated_at: float
