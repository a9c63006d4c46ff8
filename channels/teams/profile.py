"""Teams' response profile and addresses: how long a message may be, how a conversation maps to
a session key, and the outbox keys that make every operation idempotent.

A scheduled run posts into a stored conversation nobody just wrote in. Its session key is the
conversation's key and a tag (`"<conversation>|~<tag>"`): every fire is a session of its own, and
its messages start something new there (in a channel, a new post rather than a reply in the
thread the conversation was stored from).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

SURFACE = "teams"
_KEY_CHARS = 300  # sessions.thread_key
_PROACTIVE = "|~"  # Teams ids have no "|"
TARGET_KEY_CHARS = _KEY_CHARS - 60  # a schedule's conversation key leaves room for the fire's tag


@dataclass(frozen=True)
class TeamsProfile:
    # Teams refuses activities over ~28 KB. 6000 characters stay under it even when every one
    # is four bytes of UTF-8, with room left for the activity's envelope.
    message_chars: int = 6000
    arg_chars: int = 300  # one tool argument's value on an approval card


def conversation_key(conversation_id: str, root_id: str | None) -> str:
    """The session of a Teams conversation: a personal or group chat is one session; a channel
    thread (its reply chain, named by the root message id) is one. Over-long ids are hashed."""
    base = conversation_id.split(";messageid=", 1)[0]
    key = f"{base};messageid={root_id}" if root_id else base
    if len(key) <= _KEY_CHARS:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def proactive_key(target: dict[str, Any], tag: str) -> str:
    """The session key of a scheduled run posting into the stored conversation `target` names."""
    return f"{target['conversation']}{_PROACTIVE}{tag}"


def is_proactive(key: str) -> bool:
    """A run nobody started with a message: no progress message, no typing."""
    return _PROACTIVE in key


def address(key: str) -> dict[str, Any]:
    """Where a run's messages go: the stored conversation; a scheduled run's start a new post."""
    if not is_proactive(key):
        return {"conversation": key}
    return {"conversation": key.rpartition(_PROACTIVE)[0], "top_level": True}


def status_key(run_id: str) -> str:
    return f"teams:{run_id}:status"


def typing_key(run_id: str, seq: int) -> str:
    return f"teams:{run_id}:typing:{seq}"


def card_key(run_id: str, item_id: str) -> str:
    return f"teams:{run_id}:card:{item_id}"


def answer_key(run_id: str, index: int) -> str:
    return f"teams:{run_id}:answer:{index}"


def user_ref(user_id: str | None) -> str:
    """A placeholder the sink turns into the person's name when it sends: the renderer is pure
    and cannot look up who a product user is."""
    return f"<sb-user:{user_id}>" if user_id else "someone"
