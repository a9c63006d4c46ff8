"""Outbound messages, rendered in the transaction that records the events they report.

A surface registers a renderer: a pure function from a run and its new events to outbox items
(no I/O). The store calls it inside the same transaction that appends the events, so a message
to Slack or Teams is never lost between "the run finished" and "tell the user". The surface's
own dispatcher delivers the items later, retrying until the platform takes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.records import Run, RunEvent


@dataclass(frozen=True)
class Outbound:
    key: str  # unique per message and operation: a re-render never sends twice
    target: dict[str, Any]  # the surface's address: channel, thread, conversation reference …
    payload: dict[str, Any] = field(default_factory=dict)  # what to do there: post, update, …


@dataclass(frozen=True)
class OutboxItem:
    """A recorded outbound message, as a surface's dispatcher claims it for delivery."""

    id: str
    tenant_id: str
    surface: str
    run_id: str | None
    target: dict[str, Any]
    payload: dict[str, Any]
    attempts: int


class OutboundRenderer(Protocol):
    def render(self, run: Run, events: Sequence[RunEvent]) -> list[Outbound]:
        """Outbox items for these newly appended events of `run` (which is already updated)."""
        ...


Renderers = Mapping[str, OutboundRenderer]  # by surface name
