"""Slack's response profile and addresses: how long a message may be, where admin cards go, how
a thread maps to a session key, and the outbox keys that make every operation idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SURFACE = "slack"


@dataclass(frozen=True)
class SlackProfile:
    message_chars: int = 3500  # Slack truncates at 40k and asks for ≤ 4k; a section block takes 3k
    arg_chars: int = 300  # one tool argument's value on an approval card
    admin_channel: str | None = None  # admin-tier approval cards are posted here as well


def thread_key(channel: str, ts: str) -> str:
    """The session of a Slack thread: its channel and the ts of its first message."""
    return f"{channel}:{ts}"


def address(key: str) -> dict[str, Any]:
    """Where a run's messages go. A key without a ts (a proactive run) posts at top level."""
    channel, _, ts = key.partition(":")
    return {"channel": channel, "thread_ts": ts} if ts else {"channel": channel}


def status_key(run_id: str) -> str:
    return f"slack:{run_id}:status"


def card_key(run_id: str, item_id: str, *, admin: bool = False) -> str:
    return f"slack:{run_id}:card:{item_id}" + (":admin" if admin else "")


def answer_key(run_id: str, index: int) -> str:
    return f"slack:{run_id}:answer:{index}"


def user_ref(user_id: str | None) -> str:
    """A placeholder the dispatcher turns into `<@U…>` (or the person's name) when it sends:
    the renderer is pure and cannot look up who a product user is on Slack."""
    return f"<sb-user:{user_id}>" if user_id else "someone"
