"""Wiring the scheduler: its options from settings, the built-in digest, and the surfaces it can
address. Part of the composition root; other fire kinds and digest sources are passed in."""

from __future__ import annotations

from collections.abc import Mapping

from channels.slack.profile import SURFACE as SLACK
from channels.slack.profile import proactive_key
from core.engine.worker import worker_name
from core.runtime import Runtime
from core.schedules import ScheduleBook
from core.settings import SchedulerSettings
from scheduler.digest import DigestHandler, DigestOptions, ThreadKeys
from scheduler.ports import DigestSource, FireHandler
from scheduler.runner import Scheduler, SchedulerOptions
from scheduler.sources import ActivitySource
from scheduler.triggers import ApsTiming

# The surfaces a schedule can post to on its own. Discord and Teams join by adding their
# thread-key function here once their adapters can post without an incoming message.
THREAD_KEYS: ThreadKeys = {SLACK: proactive_key}


def schedule_book(runtime: Runtime) -> ScheduleBook:
    """Schedule management for the API and the CLI, with the exact cron grammar and known bots."""
    return ScheduleBook(runtime.store, ApsTiming(), bots=frozenset(b.name for b in runtime.bots))


def build_scheduler(
    section: SchedulerSettings,
    runtime: Runtime,
    *,
    handlers: Mapping[str, FireHandler] | None = None,
    sources: Mapping[str, DigestSource] | None = None,
    name: str | None = None,
) -> Scheduler:
    digest_sources = {"activity": ActivitySource(runtime.store), **(sources or {})}
    digest = DigestHandler(runtime, THREAD_KEYS, digest_sources, DigestOptions(section.digest_window_s))
    options = SchedulerOptions(
        tick_s=section.tick_s,
        lease_s=section.lease_s,
        jitter_s=section.jitter_s,
        max_fires_per_tick=section.max_fires_per_tick,
        on_time_s=section.on_time_s,
    )
    kinds = {"digest": digest, **(handlers or {})}
    return Scheduler(runtime.store, kinds, options, name=name or f"sched:{worker_name()}")
