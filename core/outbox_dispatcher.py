"""Delivering a surface's outbox: claim due items, hand them to the surface's sink, record the
outcome. Every surface with an outbox (Slack, Teams, …) runs one of these with its own sink.

A sink raises `DeliveryRetry(after_s)` for anything that may succeed later (rate limits, outages,
a message that must wait for another) and `DeliveryRejected` for what never will. Anything else
it raises (sinks turn outages into DeliveryRetry, so this is an item the sink trips over) is
retried with backoff `max_failures` times, then the item is parked as dead with its error: one
tenant's message must not be retried for ever at every round. Its traceback is logged once, at
its first failure; parked items are counted in `switchboard_loop_item_failures_total`.

Items of one run are delivered one at a time in the order they were recorded; when one must
wait, the rest of that run's batch waits with it, so a thread never reads out of order. Items
that share a sink's coalesce key (successive edits of one status message) collapse to the
newest: the older ones are marked delivered as superseded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import SwitchboardError
from core.metrics import LOOP_ITEM_FAILURES
from core.outbound import OutboxItem
from core.ports import Outbox

log = logging.getLogger(__name__)


class DeliveryRetry(SwitchboardError):
    code = "delivery_retry"

    def __init__(self, after_s: float, reason: str = "retry later") -> None:
        super().__init__(reason)
        self.after_s = after_s


class DeliveryRejected(SwitchboardError):
    code = "delivery_rejected"


class ChannelSink(Protocol):
    surface: str

    async def deliver(self, item: OutboxItem) -> dict[str, Any] | None:
        """Carry out one item; returns what the platform answered (kept as the item's result)."""
        ...

    def coalesce_key(self, item: OutboxItem) -> str | None:
        """Items of one run with the same key: only the newest needs sending."""
        ...


@dataclass(frozen=True)
class DispatchOptions:
    poll_s: float = 0.2
    batch: int = 50
    concurrency: int = 8  # runs delivered in parallel; items of one run never are
    claim_s: float = 120.0
    max_attempts: int = 1000  # a dead item is given up on; until then it is retried
    max_failures: int = 10  # attempts ending in an unforeseen error before the item is parked
    max_backoff_s: float = 300.0
    max_delay_s: float = 3600.0  # the longest wait a sink may ask for


class OutboxDispatcher:
    def __init__(self, outbox: Outbox, sink: ChannelSink, options: DispatchOptions | None = None) -> None:
        self._outbox = outbox
        self._sink = sink
        self._options = options or DispatchOptions()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name=f"outbox-{self._sink.surface}")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Finish the batch in hand (so nothing delivered goes unrecorded), then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def dispatch_once(self) -> int:
        """Deliver one batch of due items; returns how many were claimed."""
        opts = self._options
        items = await self._outbox.claim_due(self._sink.surface, limit=opts.batch, claim_s=opts.claim_s)
        groups: defaultdict[str, list[OutboxItem]] = defaultdict(list)
        for item in items:
            groups[item.run_id or item.id].append(item)
        limit = asyncio.Semaphore(opts.concurrency)

        async def run_group(group: list[OutboxItem]) -> None:
            async with limit:
                await self._deliver_in_order(sorted(group, key=lambda i: i.id))

        await asyncio.gather(*(run_group(g) for g in groups.values()))
        return len(items)

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                claimed = await self.dispatch_once()
            except Exception:  # the loop must outlive a database hiccup; the items stay pending
                log.exception("outbox dispatch failed", extra={"surface": self._sink.surface})
                claimed = 0
            if claimed < self._options.batch and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._options.poll_s)
                self._wake.clear()

    async def _deliver_in_order(self, group: list[OutboxItem]) -> None:
        group = await self._coalesce(group)
        for n, item in enumerate(group):
            delay = await self._deliver(item)
            if delay is not None:
                for later in group[n + 1 :]:
                    await self._outbox.retry_later(
                        later.id,
                        delay_s=delay,
                        error="waiting for an earlier message",
                        max_attempts=self._options.max_attempts,
                    )
                return

    async def _coalesce(self, group: list[OutboxItem]) -> list[OutboxItem]:
        keys: dict[str, str | None] = {}
        for item in group:
            try:
                keys[item.id] = self._sink.coalesce_key(item)
            except Exception as exc:  # the sink cannot read this item: it alone fails
                await self._failed(item, exc)
        newest: dict[str, OutboxItem] = {}
        for item in group:
            key = keys.get(item.id)
            if key is not None:
                newest[key] = item
        kept = []
        for item in group:
            if item.id not in keys:
                continue
            key = keys[item.id]
            if key is not None and newest[key] is not item:
                await self._outbox.delivered(item.id, {"superseded_by": newest[key].id})
            else:
                kept.append(item)
        return kept

    async def _deliver(self, item: OutboxItem) -> float | None:
        """Deliver one item and record how it went; returns the delay when it must wait."""
        opts = self._options
        extra = _log_fields(item)
        try:
            result = await self._sink.deliver(item)
        except DeliveryRetry as exc:
            delay = self._bounded(exc.after_s)
            log.info("outbox item deferred: %s", exc.message, extra=extra)
            await self._outbox.retry_later(
                item.id, delay_s=delay, error=exc.message, max_attempts=opts.max_attempts
            )
            return delay
        except DeliveryRejected as exc:
            log.warning("outbox item rejected for good: %s", exc.message, extra=extra)
            await self._outbox.retry_later(item.id, delay_s=0, error=exc.message, max_attempts=0)
            return None
        except Exception as exc:
            return await self._failed(item, exc)
        await self._outbox.delivered(item.id, result)
        return None

    async def _failed(self, item: OutboxItem, exc: Exception) -> float:
        """An unforeseen failure: retried with backoff, parked as dead after `max_failures`
        attempts. Returns the delay before the next attempt."""
        opts = self._options
        extra = _log_fields(item)
        delay = min(opts.max_backoff_s, 2.0 ** min(item.attempts, 16))
        parked = item.attempts + 1 >= min(opts.max_failures, opts.max_attempts)
        error = f"{type(exc).__name__}: {exc}"
        if item.attempts == 0:
            log.warning("outbox delivery failed; retrying in %.0f s", delay, exc_info=exc, extra=extra)
        elif parked:
            log.warning(
                "outbox item parked as dead after %d attempts: %s", item.attempts + 1, error, extra=extra
            )
        else:
            log.info("outbox delivery failed again: %s", error, extra=extra)
        await self._outbox.retry_later(
            item.id, delay_s=delay, error=error, max_attempts=min(opts.max_failures, opts.max_attempts)
        )
        if parked:
            LOOP_ITEM_FAILURES.labels("outbox", "parked").inc()
        return delay

    def _bounded(self, after_s: float) -> float:
        """A sink's requested wait within [0, max_delay_s]; NaN (a garbled Retry-After) is the longest."""
        if math.isnan(after_s):
            return self._options.max_delay_s
        return min(max(after_s, 0.0), self._options.max_delay_s)


def _log_fields(item: OutboxItem) -> dict[str, Any]:
    return {"surface": item.surface, "run_id": item.run_id, "outbox_id": item.id, "attempts": item.attempts}
