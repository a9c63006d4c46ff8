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


def proactive_key(target: dict[str, Any], tag: str) -> str:
    """The session key of a scheduled run for a surface-neutral target: a thread of a channel
    ("C1:ts"), the channel's top level ("C1:~tag") or a direct message ("@U1:~tag"). The tag
    (schedule and fire) gives every top-level fire its own session."""
    if target.get("user"):
        return f"@{target['user']}:~{tag}"
    if target.get("thread"):
        return thread_key(str(target["channel"]), str(target["thread"]))
    return f"{target['channel']}:~{tag}"


def is_proactive(key: str) -> bool:
    """A run with no thread to answer in (it was not started by a message): no status message."""
    _, _, ts = key.partition(":")
    return not ts or ts.startswith("~")


def address(key: str) -> dict[str, Any]:
    """Where a run's messages go. A key without a ts (a proactive run) posts at top level; a key
    naming a user ("@U1") posts in the direct message with them."""
    channel, _, ts = key.partition(":")
    where = {"user": channel[1:]} if channel.startswith("@") else {"channel": channel}
    return where | {"thread_ts": ts} if ts and not ts.startswith("~") else where


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
