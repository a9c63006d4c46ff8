"""Wiring the scheduler: its options from settings, the built-in digest, and the surfaces it can
address (how a target becomes a session key, what each surface needs of a target). Part of the
composition root; other fire kinds and digest sources are passed in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from core.bots import BotRegistry
from core.engine.worker import worker_name
from core.errors import InvalidInput
from core.ports import BookFaces, SchedulerFaces
from core.runtime import Runtime
from core.schedules import KindRules, ScheduleBook
from core.settings import SchedulerSettings
from core.store.activity import activity
from core.store.context import ContextStore
from scheduler.anomaly.handler import KIND as ANOMALY
from scheduler.anomaly.spec import CheckSpec
from scheduler.digest import DigestHandler, DigestOptions, ThreadKeys
from scheduler.knowledge_sync import ADMIN_KINDS, sync_rules
from scheduler.knowledge_sync import KIND as KNOWLEDGE_SYNC
from scheduler.ports import DigestSource, FireHandler
from scheduler.runner import Scheduler, SchedulerOptions
from scheduler.sources import ActivitySource
from scheduler.triggers import ApsTiming
from service.surfaces import SURFACES

# The surfaces a schedule can post to on its own: target and fire tag -> the run's session key,
# which that surface's renderer turns into a post without a status line.
THREAD_KEYS: ThreadKeys = {surface.name: surface.proactive_key for surface in SURFACES}


class SurfaceTargets:
    """What each surface needs of a schedule's target (`TargetRules`), checked when the schedule
    is created so a malformed one is refused with a reason instead of failing at every fire."""

    def __init__(self, store: ContextStore) -> None:
        self._conversations = store.conversations
        self._surfaces = {surface.name: surface for surface in SURFACES}

    async def check(self, tenant_id: str, target: dict[str, Any]) -> dict[str, Any]:
        name = str(target.get("surface"))
        surface = self._surfaces.get(name)
        if surface is None:
            known = ", ".join(sorted(self._surfaces))
            raise InvalidInput(f"schedules cannot post to {name!r}; they post to {known}")
        return await surface.check_target(self._conversations, tenant_id, target)


def kind_rules(sync_roots: Sequence[str] = ()) -> KindRules:
    """What each kind needs of a schedule's params, checked at creation (an anomaly check's
    detector and bounds; a knowledge sync's folder under the sync roots), so a check that could
    never run is refused rather than failing later."""
    return {ANOMALY: CheckSpec.parse, KNOWLEDGE_SYNC: sync_rules(sync_roots)}


def book_faces(store: ContextStore) -> BookFaces:
    """The store's faces a schedule book uses (and disabling a scheduled run's schedule)."""
    return BookFaces(store.schedules, store.directory, store.clock)


def schedule_book(store: ContextStore, bots: BotRegistry, *, sync_roots: Sequence[str] = ()) -> ScheduleBook:
    """Schedule management for the API and the CLI: the exact cron grammar, the known bots, the
    surfaces' target rules and the kinds' params rules."""
    return ScheduleBook(
        book_faces(store),
        ApsTiming(),
        bots=frozenset(b.name for b in bots),
        targets=SurfaceTargets(store),
        kinds=kind_rules(sync_roots),
        admin_kinds=ADMIN_KINDS,
    )


def build_scheduler(
    section: SchedulerSettings,
    runtime: Runtime,
    store: ContextStore,
    *,
    handlers: Mapping[str, FireHandler] | None = None,
    sources: Mapping[str, DigestSource] | None = None,
    name: str | None = None,
) -> Scheduler:
    faces = SchedulerFaces(store.schedules, store.directory, store.clock)
    digest_sources = {"activity": ActivitySource(partial(activity, store.db)), **(sources or {})}
    digest = DigestHandler(
        runtime, faces, THREAD_KEYS, digest_sources, DigestOptions(section.digest_window_s)
    )
    options = SchedulerOptions(
        tick_s=section.tick_s,
        lease_s=section.lease_s,
        jitter_s=section.jitter_s,
        max_fires_per_tick=section.max_fires_per_tick,
        on_time_s=section.on_time_s,
    )
    kinds = {"digest": digest, **(handlers or {})}
    return Scheduler(faces, kinds, options, name=name or f"sched:{worker_name()}")
