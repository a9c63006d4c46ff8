"""Discord's response profile and addresses: how long a message may be, how a conversation maps
to a session key, and the outbox keys that make every operation idempotent.

A conversation lives in a thread. A mention at the top level of a text channel starts one on
the mentioning message (a thread started from a message has that message's id), so its key is
`"<channel>:<message>"`; a mention inside an existing thread gets `"<parent>:<thread>"`, and a
follow-up in that thread finds the same key. A DM channel is one conversation: `"<dm channel>:"`.

A scheduled run has no message to hang a thread on: it posts at the top level of a channel
(`"<channel>:~<tag>"`) or in a direct message it opens (`"@<user>:~<tag>"`), with no progress
message; a target thread is a conversation like any other (`"<channel>:<thread>"`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput

SURFACE = "discord"
# A snowflake, bare or as Discord writes a mention of it: "123…", "<#123…>", "<@123…>", "<@!123…>".
_SNOWFLAKE = re.compile(r"^(?:(\d{1,20})|<(?:#|@!?)(\d{1,20})>)$")


@dataclass(frozen=True)
class DiscordProfile:
    message_chars: int = 2000  # Discord refuses longer message content
    arg_chars: int = 300  # one tool argument's value on an approval card (an embed field holds 1024)
    thread_name: str = "Switchboard"  # the name of a thread the bot opens on a mention


def thread_key(channel: str, thread: str = "") -> str:
    """The session of a conversation: the channel and the thread inside it ("" for a DM)."""
    return f"{channel}:{thread}"


def proactive_key(target: dict[str, Any], tag: str) -> str:
    """The session key of a scheduled run for a surface-neutral target. The tag (schedule and
    fire) gives every top-level fire its own session."""
    if target.get("user"):
        return f"@{target['user']}:~{tag}"
    if target.get("thread"):
        return thread_key(str(target["channel"]), str(target["thread"]))
    return f"{target['channel']}:~{tag}"


def check_target(target: dict[str, Any]) -> dict[str, Any]:
    """A schedule's Discord target with its ids as bare snowflakes (a pasted `<#id>` or `<@id>` is
    fine); InvalidInput for anything else, such as a channel's name."""
    clean = dict(target)
    for field, example in (("channel", "<#id>"), ("thread", "id"), ("user", "<@id>")):
        value = target.get(field)
        if not value:
            continue
        found = _SNOWFLAKE.match(str(value))
        if found is None:
            raise InvalidInput(
                f"a Discord {field} is its numeric id (a snowflake, or {example}), not {value!r}: "
                "turn on Developer Mode in Discord and use Copy ID"
            )
        clean[field] = found.group(1) or found.group(2)
    return clean


def is_proactive(key: str) -> bool:
    """A run nobody started with a message: no progress message, no typing, no thread opened."""
    return key.partition(":")[2].startswith("~")


def address(key: str, thread_name: str = DiscordProfile.thread_name) -> dict[str, Any]:
    """Where a run's messages go: the thread (opened on demand from its parent), the DM, or, for a
    scheduled run, the channel's top level or a DM with the user (opened by the sink)."""
    channel, _, thread = key.partition(":")
    if thread.startswith("~"):
        return {"user": channel[1:]} if channel.startswith("@") else {"channel": channel}
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
