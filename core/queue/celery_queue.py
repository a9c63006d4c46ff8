"""The task queue on Celery and Redis: any number of worker processes, on any number of machines.

Producing: `enqueue` sets a short-lived marker for the run and pushes the task message onto the
queue's list in one atomic Redis call, and only when no marker was there: the sweeper re-nudging
every unleased run does not pile duplicates into a long queue. The task removes the marker
before its step. Messages go straight to the queue's list (what Celery's anonymous exchange
does), so publishing needs no exchange bindings and keeps working after a FLUSHDB; it runs on
the event loop with the asyncio Redis client, no thread, no kombu. A broker error is logged,
not raised: the run is already in the database and the sweeper nudges it again.

Consuming: the Celery task calls `deliver` through the process's event-loop bridge. The step
handler takes as many steps of the run as its worker allows under one lease
(`engine.steps_per_lease`) and enqueues the run again only if it is still active after them.

Stopping: `interrupt` (on the worker's first shutdown signal) cancels the steps in hand, which
give their leases back (core/engine/worker.py), and nudges their runs again, so another worker
takes them up at once instead of this one finishing up to a lease's worth of steps first;
deliveries that arrive after it start no step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.queue.celery_app import nudge_message
from core.queue.port import StepHandler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NudgeOptions:
    queue: str = "switchboard"
    marker_ttl_s: float = 60.0
    copies: int = 1  # test-only: more than one proves duplicate deliveries harmless
    depth_poll_s: float = 1.0


# KEYS: the run's marker, the queue's list. ARGV: the marker's TTL, then the message(s) to push.
_NUDGE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  for i = 2, #ARGV do redis.call('LPUSH', KEYS[2], ARGV[i]) end
  return 1
end
return 0
"""


class CeleryQueue:
    def __init__(self, redis: Redis, handler: StepHandler, options: NudgeOptions) -> None:
        self._redis = redis
        self._handler = handler
        self._options = options
        self._nudge = redis.register_script(_NUDGE)
        self._depth = 0
        self._poller: asyncio.Task[None] | None = None
        self._delivering: set[asyncio.Task[object]] = set()
        self._interrupted = False

    async def enqueue(self, run_id: str) -> None:
        messages = [nudge_message(run_id, self._options.queue) for _ in range(self._options.copies)]
        try:
            await self._nudge(keys=[self._marker(run_id), self._options.queue], args=[self._ttl, *messages])
        except (RedisError, OSError) as exc:
            log.warning(
                "broker unavailable; the sweeper will nudge the run: %s", exc, extra={"run_id": run_id}
            )

    async def deliver(self, run_id: str) -> None:
        """One delivered nudge: forget its marker, then advance the run."""
        with contextlib.suppress(RedisError):
            await self._redis.delete(self._marker(run_id))
        task = asyncio.current_task()
        if self._interrupted or task is None:
            await self.enqueue(run_id)  # stopping: for another worker
            return
        self._delivering.add(task)
        try:
            await self._handler(run_id, self.enqueue)
        except asyncio.CancelledError:
            if not self._interrupted:
                raise
            await self.enqueue(run_id)  # its lease is given back: another worker takes it up now
        except Exception:  # the message is done either way; the lease decides what happens next
            log.exception("step handler failed", extra={"run_id": run_id})
        finally:
            self._delivering.discard(task)

    async def interrupt(self, timeout_s: float = 10.0) -> None:
        """The worker is stopping: cancel the steps in hand (each gives its lease back and is
        nudged again) and start no more. Bounded: a step that does not stop is left to its lease."""
        self._interrupted = True
        running = set(self._delivering)
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=timeout_s)

    async def start(self) -> None:
        self._poller = asyncio.create_task(self._poll_depth(), name="celery-queue-depth")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            # Bounded: a cancellation that lands inside a Redis call can surface as a RedisError.
            await asyncio.wait({self._poller}, timeout=5)
            self._poller = None
        try:
            await asyncio.wait_for(self._redis.aclose(), timeout=5)
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("the broker connection did not close cleanly: %s", exc)

    def depth(self) -> int:
        return self._depth

    @property
    def _ttl(self) -> int:
        return max(1, round(self._options.marker_ttl_s))

    def _marker(self, run_id: str) -> str:
        return f"sb:nudge:{run_id}"

    async def _poll_depth(self) -> None:
        while True:
            try:
                self._depth = int(await self._redis.llen(self._options.queue))
            except RedisError as exc:
                if (task := asyncio.current_task()) is not None and task.cancelling():
                    raise asyncio.CancelledError from exc  # stopping: the error was the cancellation's
                log.debug("queue depth unavailable: %s", exc)
            await asyncio.sleep(self._options.depth_poll_s)
