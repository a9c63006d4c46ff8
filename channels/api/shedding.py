"""Load shedding: when the process is saturated, refuse quickly (429 with Retry-After) rather
than answer in seconds, and keep writes (a submission, a decision) ahead of reads (polling).

At most `requests` API requests are handled at once, of which at most `reads` are reads (GET),
so some turns are always left for writes. A request beyond that waits for a turn, writes first;
one that finds `waiting` others already waiting, or that waits longer than `max_wait_s`, is
refused. `/healthz` never waits for a turn: it answers whether the store does, not whether we
are busy. A request holds its turn until its response starts (a stream holds none while it
streams).

A request that has its turn also goes ahead of background work in the store: its transactions
wait for a store thread (and, on SQLite, the writer lock) before the steps' (`Urgency.INGRESS`
for a write, `Urgency.READ` for a read).

Why in the process rather than at a proxy: the turns here are the ones that matter, the event
loop's and the store's threads, which in `serve` the step work shares.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from enum import Enum

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channels.api.errors import error_response
from channels.api.schemas import ErrorDetail
from core.urgency import Urgency, urgency

# Never wait for a turn: the health check (it answers whether the store does, on a thread of its
# own) and the API's description (a constant document).
UNGATED = frozenset({"/healthz", "/openapi.json"})


class Lane(Enum):
    WRITE = "write"
    READ = "read"


@dataclass(frozen=True)
class ShedOptions:
    requests: int = 16  # API requests handled at once
    reads: int = 8  # of which reads, at most
    waiting: int = 64  # requests waiting for a turn, beyond which more are refused at once
    max_wait_s: float = 0.05  # a request that waited this long for a turn is refused
    retry_after_s: int = 1


class Turns:
    """Turns to handle a request, writes first. One event loop; no locks."""

    def __init__(self, options: ShedOptions) -> None:
        self.options = options
        self.busy = 0
        self.reads = 0
        self._waiting: dict[Lane, deque[asyncio.Future[None]]] = {Lane.WRITE: deque(), Lane.READ: deque()}

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    async def take(self, lane: Lane) -> bool:
        """True: a turn is held (give it back with `give`). False: refused."""
        if (
            self._free(lane)
            and not self._waiting[lane]
            and not (lane is Lane.READ and self._waiting[Lane.WRITE])
        ):
            self._hold(lane)
            return True
        if self.waiting >= self.options.waiting:
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[lane].append(turn)
        try:
            await asyncio.wait({turn}, timeout=self.options.max_wait_s)
        except BaseException:  # the request was cancelled: give back a turn it was just handed
            self._drop(lane, turn)
            raise
        if turn.done():
            return True
        self._drop(lane, turn)  # waited too long
        return False

    def give(self, lane: Lane) -> None:
        self.busy -= 1
        if lane is Lane.READ:
            self.reads -= 1
        self._hand_on()

    def _drop(self, lane: Lane, turn: asyncio.Future[None]) -> None:
        if turn.done():
            self.give(lane)
        else:
            self._waiting[lane].remove(turn)
            turn.cancel()

    def _free(self, lane: Lane) -> bool:
        options = self.options
        return self.busy < options.requests and (lane is Lane.WRITE or self.reads < options.reads)

    def _hold(self, lane: Lane) -> None:
        self.busy += 1
        if lane is Lane.READ:
            self.reads += 1

    def _hand_on(self) -> None:
        for lane in (Lane.WRITE, Lane.READ):
            queue = self._waiting[lane]
            while queue and self._free(lane):
                turn = queue.popleft()
                self._hold(lane)
                turn.set_result(None)


class SheddingMiddleware:
    """ASGI middleware around the API app: each request takes a turn or gets a 429."""

    def __init__(self, app: ASGIApp, turns: Turns) -> None:
        self.app = app
        self.turns = turns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNGATED:
            await self.app(scope, receive, send)
            return
        lane = Lane.READ if scope["method"] in ("GET", "HEAD") else Lane.WRITE
        if not await self.turns.take(lane):
            await self._refuse(scope, receive, send)
            return
        held = True

        def give() -> None:
            nonlocal held
            if held:
                held = False
                self.turns.give(lane)

        async def send_and_give(message: Message) -> None:
            if message["type"] == "http.response.start":
                give()
            await send(message)

        try:
            with urgency(Urgency.READ if lane is Lane.READ else Urgency.INGRESS):
                await self.app(scope, receive, send_and_give)
        finally:
            give()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        retry = self.turns.options.retry_after_s
        error = ErrorDetail(code="busy", message=f"the service is busy; try again in {retry}s")
        await error_response(429, error, {"Retry-After": str(retry)})(scope, receive, send)
