"""Notices: surface-neutral messages that do not come from a run (an alert card, its resolution).

A run's messages are rendered from its events (core/outbound.py). A notice has no run: the code
that raises it (the anomaly checks) describes it once — text, a title, a few fields, buttons as
(action id, label, value) — and each surface registers a `NoticeRenderer` that turns it into
outbox items, exactly as run renderers do. The store's `queue_notice` (core/store/notices.py)
calls the renderer inside the caller's transaction, so an alert and the message announcing it
are recorded together or not at all.

Conventions every renderer keeps:
- the outbox key of a notice's message is the notice's `key`: a later notice names it in `ref`
  (edit that message in place) or `reply_to` (answer in its thread);
- people are named with `user_ref(user_id)`; each surface rewrites the placeholder to its own
  form (a Slack mention, a Teams display name);
- the target is the surface-neutral address schedules use: {"surface": "slack", "channel": "C1",
  "thread": None}.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from core.outbound import Outbound


def user_ref(user_id: str) -> str:
    """A person in a notice's text; the surface's renderer names them its own way."""
    return f"<user:{user_id}>"


@dataclass(frozen=True)
class NoticeAction:
    id: str  # what the click means, e.g. "alert_ack"; the surface carries `value` with it
    label: str
    value: str
    style: str | None = None  # "primary" | "danger" | None


@dataclass(frozen=True)
class Notice:
    key: str  # unique per message and operation: the outbox dedupe key of the message
    target: Mapping[str, Any]
    text: str  # Markdown
    title: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    actions: tuple[NoticeAction, ...] = ()
    ref: str | None = None  # edit the message posted under this key instead of posting
    reply_to: str | None = None  # post in the thread of the message posted under this key
    group: str | None = None  # notices of one group are delivered in the order they were queued

    @property
    def surface(self) -> str:
        return str(self.target.get("surface") or "")


class NoticeRenderer(Protocol):
    def render(self, notice: Notice, replied: Mapping[str, Any] | None) -> list[Outbound]:
        """Outbox items for a notice. `replied` is what the platform answered when the message
        named by `notice.reply_to` was delivered (its id, e.g. a Slack ts), or None if it is not
        delivered yet: the renderer then orders its post after it instead of in its thread."""
        ...


NoticeRenderers = Mapping[str, NoticeRenderer]  # by surface name
