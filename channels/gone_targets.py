"""When a scheduled post's place is gone for good (a channel deleted, the bot removed, a person
unreachable): disable the schedule behind the run, instead of failing at every fire, and tell its
owner in a direct message on the same surface where the surface can.

A sink calls a `GoneTargets` with the outbox item and the platform's words; each surface says,
with `notice`, what the owner's message looks like (its payload for that surface's outbox).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from core.outbound import OutboxItem
from core.ports import SurfacePorts
from core.schedule_records import Schedule

log = logging.getLogger(__name__)

# (the item whose post failed, its disabled schedule, the platform's error) -> an outbox payload
OwnerNotice = Callable[[OutboxItem, Schedule, str], dict[str, Any]]


class GoneTargets:
    def __init__(self, ports: SurfacePorts, surface: str, notice: OwnerNotice | None = None) -> None:
        self._ports = ports
        self._surface = surface
        self._notice = notice  # None: the surface cannot reach the owner, the audit entry is all

    async def __call__(self, item: OutboxItem, error: str) -> None:
        if item.run_id is None:
            return
        schedule = await self._ports.disable_schedule(
            item.tenant_id, item.run_id, f"{self._surface} target gone: {error}"
        )
        if schedule is None:  # not a scheduled run, or its schedule was off already
            return
        log.warning(
            "schedule disabled: its target is gone",
            extra={"tenant_id": item.tenant_id, "schedule_id": schedule.id, "surface": self._surface},
        )
        if self._notice is None:
            return
        owner = await self._ports.identities.external_id(item.tenant_id, self._surface, schedule.owner_id)
        if owner is None:  # the owner is not on this surface: the audit entry is all there is
            return
        await self._ports.outbox.put(
            tenant_id=item.tenant_id,
            surface=self._surface,
            dedupe_key=f"{self._surface}:schedule:{schedule.id}:gone:{item.id}",
            target={"user": owner},
            payload=self._notice(item, schedule, error),
        )
