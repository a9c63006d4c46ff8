"""Ports: the faces of the system of record that code outside the store receives, as Protocols.
The SQL store (core/store) implements them; the composition root hands each user the narrow one
it needs, so a tool, a check or a surface cannot reach the rest of the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.outbound import OutboxItem
from core.records import ConversationReference, Principal, Role, User
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


class Identities(Protocol):
    """The directory's faces a surface's identity mapping uses: a workspace's tenant, a platform
    user's product user and role, and back. `core.store.directory.Directory` implements it."""

    async def tenant_exists(self, tenant_id: str) -> bool: ...

    async def create_tenant(self, name: str, *, tenant_id: str | None = None) -> str: ...

    async def resolve_identity(
        self, tenant_id: str, surface: str, external_id: str, *, display_name: str = ""
    ) -> User:
        """The product user behind a surface identity, created on first sight as a member."""
        ...

    async def set_role(self, tenant_id: str, user_id: str, role: Role) -> None: ...

    async def external_id(self, tenant_id: str, surface: str, user_id: str) -> str | None:
        """A product user's id on `surface`, if they came from there."""
        ...

    async def get_user(self, tenant_id: str, user_id: str) -> User: ...


class Outbox(Protocol):
    """Messages to surfaces, retried until delivered: what a surface queues (`put`) and what its
    dispatcher and sink do with them. `core.store.outbox.OutboxStore` implements it."""

    async def put(
        self,
        *,
        tenant_id: str,
        surface: str,
        dedupe_key: str,
        target: dict[str, Any],
        payload: dict[str, Any],
        run_id: str | None = None,
    ) -> bool:
        """Queue a message once per dedupe key. False when that key was queued before."""
        ...

    async def claim_due(
        self, surface: str, *, limit: int = 20, claim_s: float = 30.0
    ) -> list[OutboxItem]: ...

    async def delivered(self, item_id: str, result: dict[str, Any] | None = None) -> None: ...

    async def result(self, dedupe_key: str) -> dict[str, Any] | None:
        """What the delivery of the message under `dedupe_key` returned (a posted message's id)."""
        ...

    async def retry_later(
        self, item_id: str, *, delay_s: float, error: str, max_attempts: int = 50
    ) -> None: ...


class AuditLog(Protocol):
    """Who did what, appended. `core.store.audit.AuditStore` implements it."""

    async def record(self, tenant_id: str, action: str, **fields: Any) -> None: ...


# A scheduled run's target is gone: disable its schedule (tenant, run id, reason); the schedule
# when this call disabled it, None if the run was not scheduled or it was off already.
DisableSchedule = Callable[[str, str, str], Awaitable[Schedule | None]]


@dataclass(frozen=True)
class SurfacePorts:
    """What a chat surface may touch besides the Runtime's verbs; the composition root builds it."""

    identities: Identities
    outbox: Outbox
    disable_schedule: DisableSchedule


class Conversations(Protocol):
    """Where a surface's conversations live (Teams: the Bot Framework conversation reference),
    saved from authenticated activities and read to reply or post proactively. The context
    store's `conversations` implements it."""

    async def save(self, tenant_id: str, conversation: ConversationReference) -> None: ...

    async def get(self, tenant_id: str, key: str) -> ConversationReference | None: ...
