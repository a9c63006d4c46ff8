"""The schedule record (what the context store keeps for one timetable entry of a tenant) and the
draft a caller asks for.

It lives in core (not in scheduler/) because the store hands it out and the chat tool that proposes
schedules is core code; scheduler/ports.py re-exports it for the timing engine and fire handlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Misfire(StrEnum):
    """What to do with a fire time that passed while no scheduler was running."""

    SKIP = "skip"  # drop it; the next regular fire time counts
    RUN_LATE = "run_late"  # fire once, late, if still within grace_s of the due time


@dataclass(frozen=True)
class Schedule:
    """One schedule. Exactly one of `cron` / `interval_s` is set.

    `target` is surface-neutral: {"surface": "slack", "channel": "C123", "thread": None, "user": None};
    set `channel` (optionally `thread`) for a conversation, or `user` for a direct message.
    `kind` picks the fire handler ("digest" is the built-in one). `params` is free-form per kind.
    """

    id: str
    tenant_id: str
    owner_id: str
    bot: str
    kind: str
    cron: str | None
    interval_s: int | None
    timezone: str
    target: dict[str, Any]
    prompt: str
    params: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    misfire: Misfire = Misfire.SKIP
    grace_s: int = 300
    created_at: float = 0.0
    updated_at: float = 0.0
    name: str = ""
    disabled_reason: str | None = None
    last_fire_at: float | None = None  # the newest fire time claimed or skipped (seconds since epoch)


@dataclass(frozen=True)
class ScheduleFire:
    """One claimed (or skipped) fire of a schedule: (schedule_id, fire_at) is unique in the store."""

    id: str
    tenant_id: str
    schedule_id: str
    fire_at: float  # the nominal fire time, seconds since the epoch
    status: str  # pending | done | skipped | failed
    owner: str | None
    lease_until: float
    attempts: int
    run_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Draft:
    """What a caller asks for; the book fills in the tenant, owner and ids."""

    bot: str
    target: dict[str, Any]
    prompt: str
    cron: str | None = None
    interval_s: int | None = None
    timezone: str = "UTC"
    kind: str = "digest"
    name: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    misfire: Misfire = Misfire.SKIP
    grace_s: int = 300


@dataclass(frozen=True)
class UnreadableSchedule:
    """An enabled schedule row this release cannot read (left by an older release, or written by
    hand): handed out as such, so the scheduler can set it aside instead of failing its round."""

    id: str
    tenant_id: str
    error: str
