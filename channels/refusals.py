"""What to tell a person whose click the core refused, on any surface. The core's own message is
passed through `escape` (the surface's markup); the rest is fixed text."""

from __future__ import annotations

from collections.abc import Callable

from core.errors import Conflict, Forbidden, InvalidInput, MisuseError, NotFound

_CONFLICTS = {
    "already_decided": "Someone already decided this one.",
    "expired": "This request expired before anyone decided.",
    "not_waiting": "This conversation is no longer waiting for a decision.",
}


def explain(exc: MisuseError, escape: Callable[[str], str]) -> str:
    """The core's Forbidden says who may decide; a Conflict says it is settled already."""
    if isinstance(exc, Conflict):
        return _CONFLICTS.get(exc.code, "This was already settled.")
    if isinstance(exc, NotFound):
        return "I cannot find this request any more."
    if isinstance(exc, Forbidden | InvalidInput):
        return escape(exc.message)
    return "Sorry, that did not work."
