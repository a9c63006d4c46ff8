"""When a scheduled post's place on Discord is gone (the channel deleted, the bot removed from it,
the user unreachable by DM): disable the schedule and tell its owner in a DM, instead of failing
at every fire."""

from __future__ import annotations

import logging

from channels.discord.markup import neutralise
from channels.discord.profile import SURFACE
from core.schedules import disable_for_run
from core.store.context import ContextStore
from core.store.outbox import OutboxItem

log = logging.getLogger(__name__)


class GoneTargets:
    def __init__(self, store: ContextStore) -> None:
        self._store = store

    async def __call__(self, item: OutboxItem, error: str) -> None:
        if item.run_id is None:
            return
        schedule = await disable_for_run(
            self._store, item.tenant_id, item.run_id, f"discord target gone: {error}"
        )
        if schedule is None:  # not a scheduled run, or its schedule was off already
            return
        log.warning(
            "schedule disabled: its Discord target is gone",
            extra={"tenant_id": item.tenant_id, "schedule_id": schedule.id, "surface": SURFACE},
        )
        owner = await self._store.directory.external_id(item.tenant_id, SURFACE, schedule.owner_id)
        if owner is None:  # the owner is not on Discord: the audit entry is all there is
            return
        where = f"<#{item.target['channel']}>" if item.target.get("channel") else "that direct message"
        text = (
            f"⚠️ I paused your schedule **{neutralise(schedule.name)}** (`{schedule.id}`): "
            f"I can no longer post in {where} ({neutralise(error)}). "
            "Resume it once I can post there again."
        )
        await self._store.outbox.put(
            tenant_id=item.tenant_id,
            surface=SURFACE,
            dedupe_key=f"discord:schedule:{schedule.id}:gone:{item.id}",
            target={"user": owner},
            payload={"op": "post", "message": {"content": text}},
        )
