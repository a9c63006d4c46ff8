"""Ports: the faces of the system of record that code outside the store receives, as Protocols.
The SQL store (core/store) implements them; the composition root hands each user the narrow one
it needs, so a tool or a check cannot reach the rest of the store.
"""

from __future__ import annotations

from typing import Protocol

from core.records import Principal
from core.schedule_records import Draft, Schedule


class Schedules(Protocol):
    """Schedule management as one person (their tenant, their role): what the schedule tools get
    (`ToolContext.schedules`). `core.schedules.ScheduleBook` implements it."""

    async def requester(self, tenant_id: str, user_id: str) -> Principal:
        """The person a run acts for, with their current role."""
        ...

    async def create(self, who: Principal, draft: Draft, *, schedule_id: str = "") -> Schedule: ...

    async def list(self, who: Principal) -> list[Schedule]: ...

    async def pause(self, who: Principal, schedule_id: str) -> Schedule: ...

    async def resume(self, who: Principal, schedule_id: str) -> Schedule: ...

    async def delete(self, who: Principal, schedule_id: str) -> None: ...
