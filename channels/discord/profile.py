"""Discord's response profile and addresses: how long a message may be, how a conversation maps
to a session key, and the outbox keys that make every operation idempotent.

A conversation lives in a thread. A mention at the top level of a text channel starts one on
the mentioning message (a thread started from a message has that message's id), so its key is
`"<channel>:<message>"`; a mention inside an existing thread gets `"<parent>:<thread>"`, and a
follow-up in that thread finds the same key. A DM channel is one conversation: `"<dm channel>:"`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SURFACE = "discord"


@dataclass(frozen=True)
class DiscordProfile:
    message_chars: int = 2000  # Discord refuses longer message content
    arg_chars: int = 300  # one tool argument's value on an approval card (an embed field holds 1024)
    thread_name: str = "Switchboard"  # the name of a thread the bot opens on a mention


def thread_key(channel: str, thread: str = "") -> str:
    """The session of a conversation: the channel and the thread inside it ("" for a DM)."""
    return f"{channel}:{thread}"


def address(key: str, thread_name: str = DiscordProfile.thread_name) -> dict[str, Any]:
    """Where a run's messages go: the thread (opened on demand from its parent), or the DM."""
    channel, _, thread = key.partition(":")
    if not thread or thread == channel:
        return {"channel": channel}
    return {"channel": thread, "parent": channel, "thread_name": thread_name}


def status_key(run_id: str) -> str:
    return f"discord:{run_id}:status"


def card_key(run_id: str, item_id: str) -> str:
    return f"discord:{run_id}:card:{item_id}"


def answer_key(run_id: str, index: int) -> str:
    return f"discord:{run_id}:answer:{index}"


def user_ref(user_id: str | None) -> str:
    """A placeholder the sink turns into `<@id>` (or the person's name) when it sends: the
    renderer is pure and cannot look up who a product user is on Discord."""
    return f"<sb-user:{user_id}>" if user_id else "someone"
