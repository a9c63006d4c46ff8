"""When a scheduled post's channel is gone (deleted, archived, the bot removed): disable the
schedule and tell its owner in a direct message, instead of failing at every fire."""

from __future__ import annotations

import logging

from channels.slack.mrkdwn import escape
from channels.slack.profile import SURFACE
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
            self._store, item.tenant_id, item.run_id, f"slack target gone: {error}"
        )
        if schedule is None:
            return
        log.warning(
            "schedule disabled: its Slack target is gone",
            extra={"tenant_id": item.tenant_id, "schedule_id": schedule.id, "surface": SURFACE},
        )
        owner = await self._store.directory.external_id(item.tenant_id, SURFACE, schedule.owner_id)
        if owner is None:  # the owner is not on Slack: the audit entry is all there is
            return
        where = f"<#{item.target['channel']}>" if item.target.get("channel") else "its target"
        text = (
            f":warning: I paused your schedule *{escape(schedule.name)}* (`{schedule.id}`): "
            f"I can no longer post in {where} ({error}). Resume it once I can post there again."
        )
        await self._store.outbox.put(
            tenant_id=item.tenant_id,
            surface=SURFACE,
            dedupe_key=f"slack:schedule:{schedule.id}:gone:{item.id}",
            target={"user": owner},
            payload={"op": "post", "text": text},
        )
