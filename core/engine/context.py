"""Dynamic context: what the model is told, once per run, about where and for whom it writes.

One assembly step puts the surface's response profile (markup dialect, length budget, buttons and
attachments, how to write tables and code), the asking user (display name, role), the current
date and time, and the channel into one system message. The message joins the run's checkpointed
messages, so every model call of the run sees the same words, and a `ContextAssembled` event
records them, so the inspector shows exactly what the model was told.

Surfaces state their profile (`channels.surface.Surface.response_profile`); the composition root
hands the profiles in by surface name. Core imports no surface.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.clock import Clock
from core.errors import SwitchboardError
from core.model.port import Message
from core.ports import Users
from core.records import Run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResponseProfile:
    """How a surface shows an answer, in words the model can follow."""

    markup: str  # the dialect, e.g. "Slack mrkdwn (*bold*, _italic_, <url|text> links)"
    max_chars: int  # the answer's length budget; a longer one is split or cut by the surface
    buttons: bool  # whether the surface shows buttons (approvals, options) under a message
    attachments: bool  # whether the surface can show files and images
    tables: str  # how to write a table
    code: str  # how to write code


# The REST API and the web chat (which renders CommonMark), and any surface without a profile.
MARKDOWN_PROFILE = ResponseProfile(
    markup="Markdown (CommonMark): **bold**, _italic_, [text](url) links, headings and lists",
    max_chars=16_000,
    buttons=True,
    attachments=False,
    tables="Markdown pipe tables",
    code="fenced code blocks with a language tag",
)


@dataclass(frozen=True)
class AssembledContext:
    surface: str
    profile: ResponseProfile
    user_id: str
    user_name: str
    role: str
    now: str  # ISO 8601 with its offset
    time_zone: str
    channel: str
    text: str  # the system message itself

    def payload(self) -> dict[str, Any]:
        return {**asdict(self), "profile": asdict(self.profile)}

    def message(self) -> Message:
        return {"role": "system", "content": self.text}


class ContextAssembler:
    def __init__(
        self,
        users: Users,
        clock: Clock,
        profiles: Mapping[str, ResponseProfile] | None = None,
        *,
        time_zone: str = "UTC",
    ) -> None:
        self._users = users
        self._clock = clock
        self._profiles = dict(profiles or {})
        self._zone = ZoneInfo(time_zone)
        self._zone_name = time_zone
        # (tenant, user) -> (name, role, read at): a run's first step would otherwise spend a
        # transaction of its own on the user's name (issue 18 counts statements per run). The
        # model is told the role only as information; every decision reads it afresh.
        self._known: OrderedDict[tuple[str, str], tuple[str, str, float]] = OrderedDict()

    async def assemble(self, run: Run) -> AssembledContext:
        profile = self._profiles.get(run.surface, MARKDOWN_PROFILE)
        name, role = await self._who(run)
        now = datetime.fromtimestamp(self._clock.now(), UTC).astimezone(self._zone)
        channel = channel_of(run.surface, run.thread_key)
        text = render(profile, run.surface, _inline(name), role, now, self._zone_name, channel)
        return AssembledContext(
            surface=run.surface,
            profile=profile,
            user_id=run.user_id,
            user_name=name,
            role=role,
            now=now.isoformat(timespec="seconds"),
            time_zone=self._zone_name,
            channel=channel,
            text=text,
        )

    async def _who(self, run: Run) -> tuple[str, str]:
        key, now = (run.tenant_id, run.user_id), self._clock.now()
        known = self._known.get(key)
        if known is not None and now - known[2] < _KNOWN_FOR_S:
            return known[0], known[1]
        try:
            user = await self._users.get_user(run.tenant_id, run.user_id)
        except SwitchboardError as exc:  # a deleted user still gets an answer, without a name
            log.warning("context: the asking user is unknown: %s", exc.code, extra={"run_id": run.id})
            return run.user_id, "unknown"
        self._known[key] = (user.name, user.role.value, now)
        self._known.move_to_end(key)
        if len(self._known) > _KNOWN_MOST:
            self._known.popitem(last=False)
        return user.name, user.role.value


_KNOWN_FOR_S = 60.0  # a renamed user or a changed role reaches the model's context within this
_KNOWN_MOST = 10_000


def _inline(text: str) -> str:
    """A name as one short line: it sits inside a system message."""
    return " ".join(text.split())[:80] or "(no name)"


def channel_of(surface: str, thread_key: str) -> str:
    """Where the conversation is, as far as a thread key tells without reading the platform."""
    if surface == "api":
        return "a private conversation over the REST API or the web chat"
    return f"{surface} conversation {_inline(thread_key)}"


def render(
    profile: ResponseProfile,
    surface: str,
    name: str,
    role: str,
    now: datetime,
    zone: str,
    channel: str,
) -> str:
    can = [
        "buttons under a message (you cannot add your own)" if profile.buttons else "no buttons",
        "files and images" if profile.attachments else "no files or images",
    ]
    return "\n".join(
        [
            "Context for this conversation (from the service, not from the user):",
            f"- Surface: {surface}. Write in {profile.markup}.",
            f"- Keep an answer under {profile.max_chars} characters. Tables: {profile.tables}. "
            f"Code: {profile.code}. The surface has {' and '.join(can)}.",
            f"- Asking: {name} (role: {role}).",
            f"- Now: {now:%A %d %B %Y, %H:%M} ({zone}; the user's own time zone is not known).",
            f"- Channel: {channel}.",
        ]
    )
