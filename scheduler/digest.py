"""The built-in "digest" fire: a run through the same entry point as a chat message.

The run is submitted as the schedule's owner (so their tenant's limits and the model rate limiter
apply) with the schedule's prompt plus the context sections its bot declares. Its answer reaches
the target the way every run's answer does: the surface's renderer records it in the outbox.
Nothing here posts to a surface, and the model is not asked to.

Exactly once: the submission's idempotency key is the (schedule, fire time), so a fire retaken
after a crash finds the run the first attempt created instead of making another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.errors import Busy, Conflict, InvalidInput
from core.ports import DigestStore
from core.records import Principal
from core.runtime import Runtime, Submission
from core.schedule_records import Schedule
from scheduler.ports import DigestSource, FireDeferred

log = logging.getLogger(__name__)

# surface -> (target, tag) -> the thread key of the run's session on that surface
ThreadKeys = Mapping[str, Callable[[dict[str, Any], str], str]]


@dataclass(frozen=True)
class DigestOptions:
    window_s: float = 86_400.0  # the history a digest reports on, ending at its fire time


class DigestHandler:
    def __init__(
        self,
        runtime: Runtime,
        store: DigestStore,
        thread_keys: ThreadKeys,
        sources: Mapping[str, DigestSource],
        options: DigestOptions | None = None,
    ) -> None:
        self._runtime = runtime
        self._store = store  # the owner's role, and the fire's run recorded
        self._thread_keys = thread_keys
        self._sources = sources
        self._options = options or DigestOptions()

    async def fire(self, schedule: Schedule, fire_at: datetime) -> None:
        surface = str(schedule.target.get("surface"))
        keys = self._thread_keys.get(surface)
        if keys is None:
            raise InvalidInput(f"the scheduler cannot address {surface!r} targets")
        at = fire_at.timestamp()
        owner = await self._store.directory.get_user(schedule.tenant_id, schedule.owner_id)
        who = Principal(schedule.tenant_id, owner.id, owner.role)
        submission = Submission(
            bot=schedule.bot,
            text=await self.prompt(schedule, at),
            surface=surface,
            thread_key=keys(schedule.target, f"{schedule.id}.{int(at)}"),
            idempotency_key=f"schedule:{schedule.id}:{int(at)}",
        )
        try:
            submitted = await self._runtime.submit(who, submission)
        except Busy as exc:
            raise FireDeferred(exc.message, after_s=exc.retry_after_s) from exc
        except Conflict as exc:
            if exc.code != "idempotency_conflict":
                raise
            # An earlier attempt of this fire submitted its run before it died (the context it
            # saw has changed since, hence the different request): that run is the fire's.
            log.info("schedule fire already submitted", extra={"schedule_id": schedule.id})
            return
        if submitted.run is not None:
            await self._store.schedules.attach_run(schedule, at, submitted.run.id)

    async def prompt(self, schedule: Schedule, at: float) -> str:
        """The schedule's prompt, then a section per context source its bot declares."""
        bot = self._runtime.bots.get(schedule.bot)
        since = at - self._options.window_s
        local = datetime.fromtimestamp(at, ZoneInfo(schedule.timezone))
        parts = [schedule.prompt, f"(Scheduled digest for {local:%A %Y-%m-%d %H:%M %Z}.)"]
        for name in bot.digest_context:
            source = self._sources.get(name)
            if source is None:
                continue  # declared but not installed here (e.g. alerts without the anomaly checks)
            section = await source.section(schedule, since, at)
            if section:
                parts.append(section)
        return "\n\n".join(parts)
