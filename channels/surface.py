"""A chat surface as the composition root sees it: one `Surface` object per surface package
(`channels.slack.SURFACE_SPEC`, …), listed once in `service/surfaces.py`. From it the root takes
everything it wires per surface:

    name, enabled(settings)      the surface's name (runs, sessions, outbox rows) and whether
                                 settings configure it
    response_profile             how it shows an answer (markup, length, buttons, attachments),
                                 told to the model in each run's context (core/engine/context.py)
    renderer(settings)           run events → outbox items, called by the store (core/outbound.py)
    notices()                    alert cards → outbox items (core/notices.py)
    proactive_key, check_target  where a schedule's fire posts, and what a target must name
    build(settings, deps)        the live `Channel`: started and stopped with the service, its
                                 HTTP routes mounted by `switchboard serve`

Nothing here imports a surface; a surface imports this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.routing import BaseRoute

from core.alerts.desk import AlertDesk
from core.engine.context import ResponseProfile
from core.errors import InvalidInput
from core.notices import NoticeRenderer
from core.outbound import OutboundRenderer
from core.ports import Conversations, SurfacePorts
from core.runtime import Runtime
from core.settings import Settings


@dataclass(frozen=True)
class SurfaceDeps:
    """What the root hands a surface to build its channel: the runtime's verbs, the narrow ports,
    the surface's alert desk (its cards in its dialect) and the stored conversations."""

    runtime: Runtime
    ports: SurfacePorts
    alerts: AlertDesk
    conversations: Conversations


class Channel(Protocol):
    """A surface's live part: its deliveries (the outbox dispatcher), its inbound connections and
    the routes its platform calls."""

    async def start(self, *, listen: bool = True) -> None:
        """`listen`: also open long-lived inbound connections (the Discord gateway); one process
        does (`serve`, `switchboard discord`), workers and one-shot commands only deliver."""
        ...

    async def stop(self) -> None: ...

    def routes(self) -> Sequence[BaseRoute]:
        """What `switchboard serve` mounts for the platform's webhooks (none for a gateway)."""
        ...


class Surface(Protocol):
    @property
    def name(self) -> str: ...

    def enabled(self, settings: Settings) -> bool: ...

    @property
    def response_profile(self) -> ResponseProfile: ...

    def renderer(self, settings: Settings) -> OutboundRenderer: ...

    def notices(self) -> NoticeRenderer: ...

    def proactive_key(self, target: dict[str, Any], tag: str) -> str:
        """The session key of a scheduled run posting to `target`; the tag names the fire."""
        ...

    async def check_target(
        self, conversations: Conversations, tenant_id: str, target: dict[str, Any]
    ) -> dict[str, Any]:
        """A schedule's target as this surface needs it, or InvalidInput (NotFound) saying why not;
        checked when the schedule is created, not at every fire."""
        ...

    def build(self, settings: Settings, deps: SurfaceDeps) -> Channel: ...


def channel_target(surface: str, target: dict[str, Any]) -> dict[str, Any]:
    """A target on a surface that posts to channels and users, not to stored conversations."""
    if target.get("conversation"):
        raise InvalidInput(f"a {surface} target names a channel or a user, not a conversation")
    return target
