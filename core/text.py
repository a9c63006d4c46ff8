"""What text Switchboard accepts, decided once for every surface.

Two things in a Python `str` cannot be stored on both databases: NUL (PostgreSQL's text types
refuse it) and a lone surrogate (U+D800 to U+DFFF; it has no UTF-8 form, so neither driver can
send it). JSON's escapes let any client deliver either, and chat platforms forward what people
paste. So:

- An identifier or key (an id in a URL, a session or thread key, an idempotency key, a bot or
  tool name) is refused with `InvalidInput` when it holds those or any other control character:
  no legitimate id has one, and an id that merely looks like another is worse than an error.
- Free text a person wrote (a message, a prompt, a reason) keeps its line breaks and tabs. From
  the REST API it is refused when it holds NUL or a lone surrogate: the client sent it and can fix
  it, and a 422 names the field. From a chat surface it is cleaned at the core ingress instead
  (NUL removed, a lone surrogate replaced by U+FFFD): the person typed into Slack, Discord or
  Teams and cannot be asked to resend, and dropping the message would lose it.
- Numbers: JSON has no NaN or Infinity (PostgreSQL's json refuses them, SQLite turns a NaN column
  into NULL), and integer columns have a width. Those are refused too.

The store applies the same checks to every value it binds (core/store/columns.py), so a path
that forgets the boundary gets an `InvalidInput` on both databases, never a driver error.
"""

from __future__ import annotations

import math
import re

from core.errors import InvalidInput

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """Why the databases cannot hold `value`, or None when they can."""
    if value.isascii():  # the common case, checked in C
        return "a NUL character" if "\x00" in value else None
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    return "a NUL character" if found.group() == "\x00" else "a lone surrogate (invalid Unicode)"


def check_text(value: str, what: str = "the text") -> str:
    """Free text: returned as is, or refused when it cannot be stored."""
    problem = unstorable(value)
    if problem is not None:
        raise InvalidInput(f"{what} contains {problem}")
    return value


def check_identifier(value: str, what: str = "the identifier") -> str:
    """An id, key or name: returned as is, or refused when it holds any control character."""
    found = _CONTROL.search(value)
    if found is not None:
        char = found.group()
        kind = (
            "a lone surrogate (invalid Unicode)"
            if char >= "\ud800"
            else f"control character {ord(char):#04x}"
        )
        raise InvalidInput(f"{what} contains {kind}")
    return value


def clean_text(value: str) -> str:
    """Free text from a chat surface, made storable without losing what can be kept."""
    if unstorable(value) is None:
        return value
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else REPLACEMENT, value)


def check_finite(value: float, what: str = "the number") -> float:
    if not math.isfinite(value):
        raise InvalidInput(f"{what} must be a finite number, not {value}")
    return value
