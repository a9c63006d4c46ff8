"""What every chat surface's sink does the same way around its platform calls.

A sink (`channels/<surface>/sink.py`) turns outbox items into platform calls. Around those calls
the rules are the surface's own only in their numbers: a post that names an earlier message
(`after`) waits until that one is delivered; an edit waits until its message is posted; edits
of a status message go out at most once per `edit_interval_s` and an older one never overwrites
a newer one; a rate limit pauses what it names (an API method, or every send) for its
Retry-After; other transient failures back off, doubling per attempt. `Pacing` keeps that state
for one sink and says each wait as a `DeliveryRetry`; the platform calls stay in the sink.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from core.outbound import OutboxItem
from core.outbox_dispatcher import DeliveryRetry
from core.ports import Outbox

# The renderer cannot look people up, so it writes this placeholder; the sink names the person.
_USER_REF = re.compile(r"<sb-user:([A-Za-z0-9_\-]+)>")


@dataclass(frozen=True)
class SinkOptions:
    edit_interval_s: float = 1.0  # edits of one status message: about one a second
    backoff_s: float = 0.5  # the first pause after a failure (or while waiting); doubles per attempt
    max_wait_s: float = 60.0  # the longest pause while waiting for an earlier message
    max_backoff_s: float = 300.0  # the longest pause after a failure


class Pacing:
    """One sink's waits: for earlier messages, between status edits, after rate limits and failures."""

    def __init__(
        self,
        outbox: Outbox,
        options: SinkOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._outbox = outbox
        self._options = options or SinkOptions()
        self._clock = clock
        self._paused: dict[str, float] = {}  # what a rate limit named -> when it lifts
        self._edited: dict[str, tuple[int, float]] = {}  # message key -> (newest seq applied, when)

    def backoff(self, item: OutboxItem) -> float:
        """The pause after a transient failure."""
        return self._grow(item, self._options.max_backoff_s)

    def wait(self, item: OutboxItem) -> float:
        """The pause while something this item needs is not there yet."""
        return self._grow(item, self._options.max_wait_s)

    async def after_earlier(self, item: OutboxItem, payload: dict[str, Any]) -> None:
        """Raises `DeliveryRetry` until the message this post must follow is delivered."""
        after = payload.get("after")
        if after and await self._outbox.result(after) is None:
            raise DeliveryRetry(self.wait(item), f"waiting for {after}")

    async def posted(self, item: OutboxItem, ref: str) -> dict[str, Any]:
        """The delivered result of the post an edit applies to; `DeliveryRetry` until there is one."""
        posted = await self._outbox.result(ref)
        if posted is None:
            raise DeliveryRetry(self.wait(item), f"waiting for {ref} to be posted")
        return posted

    def superseded(self, ref: str, seq: Any) -> bool:
        """Whether a newer edit of `ref` was applied already; `DeliveryRetry` while edits of it
        are throttled. Edits without a `seq` are neither throttled nor superseded."""
        if seq is None:
            return False
        newest, when = self._edited.get(ref, (-1, float("-inf")))
        if int(seq) < newest:
            return True
        pause = when + self._options.edit_interval_s - self._clock()
        if pause > 0:
            raise DeliveryRetry(pause, "status edits are throttled")
        return False

    def edited(self, ref: str, seq: Any) -> None:
        if seq is not None:
            self._edited[ref] = (int(seq), self._clock())

    def check_paused(self, key: str, what: str) -> None:
        """Raises `DeliveryRetry` while a rate limit on `key` lasts."""
        paused = self._paused.get(key, 0.0) - self._clock()
        if paused > 0:
            raise DeliveryRetry(paused, f"{what} is rate limited")

    def pause(self, key: str, after_s: float) -> None:
        self._paused[key] = self._clock() + after_s

    def _grow(self, item: OutboxItem, cap: float) -> float:
        return min(cap, self._options.backoff_s * 2 ** min(item.attempts, 16))


async def with_names(
    tenant_id: str, payload: dict[str, Any], name: Callable[[str, str], Awaitable[str]]
) -> dict[str, Any]:
    """The payload with every user placeholder replaced by `name(tenant id, product user id)`
    (a mention, or a display name already escaped for the platform)."""
    found = set(_USER_REF.findall(_flat(payload)))
    if not found:
        return payload
    names = {user_id: await name(tenant_id, user_id) for user_id in found}
    replaced: dict[str, Any] = _replace(payload, lambda s: _USER_REF.sub(lambda m: names[m.group(1)], s))
    return replaced


def _flat(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(_flat(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_flat(v) for v in value)
    return ""


def _replace(value: Any, fix: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, dict):
        return {k: _replace(v, fix) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, fix) for v in value]
    return value
