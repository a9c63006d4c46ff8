"""Teams' response profile and addresses: how long a message may be, how a conversation maps to
a session key, and the outbox keys that make every operation idempotent."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

SURFACE = "teams"
_KEY_CHARS = 300  # sessions.thread_key


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
