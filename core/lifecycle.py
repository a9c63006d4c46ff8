"""The run lifecycle: one state enum and one transition table. Illegal transitions raise."""

from __future__ import annotations

from enum import StrEnum

from core.errors import IllegalTransition


class RunStatus(StrEnum):
    QUEUED = "queued"  # accepted; waiting for a worker or for its turn in the session
    RUNNING = "running"  # holds its session's turn; steps are being executed
    WAITING_APPROVAL = "waiting_approval"
    WAITING_INPUT = "waiting_input"
    NEEDS_RECONCILIATION = "needs_reconciliation"  # a side effect's outcome is unknown
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = RunStatus
_PARKED = {S.WAITING_APPROVAL, S.WAITING_INPUT, S.NEEDS_RECONCILIATION}

TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    S.QUEUED: frozenset({S.RUNNING, S.FAILED, S.CANCELLED}),
    S.RUNNING: frozenset({S.RUNNING, *_PARKED, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.WAITING_APPROVAL: frozenset({S.QUEUED, S.FAILED, S.CANCELLED}),
    S.WAITING_INPUT: frozenset({S.QUEUED, S.FAILED, S.CANCELLED}),
    S.NEEDS_RECONCILIATION: frozenset({S.QUEUED, S.FAILED, S.CANCELLED}),
    # A failed run may be resumed from its last checkpoint (e.g. after a model outage).
    S.FAILED: frozenset({S.QUEUED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}

ACTIVE = frozenset({S.QUEUED, S.RUNNING})  # a worker should advance these
PARKED = frozenset(_PARKED)  # these live only in the database until someone decides
FINAL = frozenset({S.COMPLETED, S.CANCELLED})


def check_transition(current: RunStatus, target: RunStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"a run cannot go from {current} to {target}")


def can_transition(current: RunStatus, target: RunStatus) -> bool:
    return target in TRANSITIONS[current]


def sources_of(target: RunStatus) -> frozenset[RunStatus]:
    """Every status from which `target` may be reached: used to build conditional UPDATEs."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)
