"""Circuit breakers: stop calling a dependency that keeps failing, and probe it now and then.

    closed ──(`failures` within `window_s`)──▶ open ──(`open_s` later)──▶ half-open
      ▲                                          ▲                          │
      └──────────── the probe succeeds ──────────┴──── the probe fails ─────┘

Half-open lets exactly one call through (the probe); everyone else is told to wait. A probe that
never reports (its caller was cancelled) is replaced after `open_s`. Breakers live in one process:
each worker learns on its own, which costs a few extra failures and needs no shared state.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum

log = logging.getLogger(__name__)


class BreakerState(IntEnum):  # the values are the metric's
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass(frozen=True)
class BreakerOptions:
    failures: int = 5
    window_s: float = 30.0
    open_s: float = 15.0


Listener = Callable[[str, BreakerState], None]


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        options: BreakerOptions,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Listener | None = None,
    ) -> None:
        self.name = name
        self._options = options
        self._clock = clock
        self._on_change = on_change
        self._failures: deque[float] = deque()
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._probe_at: float | None = None

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() >= self._opened_at + self._options.open_s:
            return BreakerState.HALF_OPEN
        return self._state

    @property
    def closed(self) -> bool:
        return self._state is BreakerState.CLOSED

    def allow(self) -> bool:
        """May a call go ahead now? In half-open, True for the one probe only."""
        now = self._clock()
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        if self._probe_at is not None and now < self._probe_at + self._options.open_s:
            return False  # a probe is in flight
        self._set(BreakerState.HALF_OPEN)
        self._probe_at = now
        return True

    def retry_in(self) -> float:
        """Seconds until a call might be allowed again (0 when it is now)."""
        now = self._clock()
        if self.state is BreakerState.CLOSED:
            return 0.0
        if self._state is BreakerState.OPEN and now < self._opened_at + self._options.open_s:
            return self._opened_at + self._options.open_s - now
        # half-open with a probe in flight: its answer may come at any moment
        return 0.0 if self._probe_at is None else min(0.25, self._probe_at + self._options.open_s - now)

    def success(self) -> None:
        self._failures.clear()
        self._probe_at = None
        if self._state is not BreakerState.CLOSED:
            self._set(BreakerState.CLOSED)

    def failure(self) -> None:
        now = self._clock()
        if self.state is BreakerState.HALF_OPEN or self._probe_at is not None:
            self._open(now)
            return
        self._failures.append(now)
        while self._failures and self._failures[0] < now - self._options.window_s:
            self._failures.popleft()
        if self._state is BreakerState.CLOSED and len(self._failures) >= self._options.failures:
            self._open(now)

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._probe_at = None
        self._failures.clear()
        self._set(BreakerState.OPEN, force=True)

    def _set(self, state: BreakerState, *, force: bool = False) -> None:
        if state is self._state and not force:
            return
        self._state = state
        log.warning("circuit breaker %s is %s", self.name, state.name.lower(), extra={"breaker": self.name})
        if self._on_change is not None:
            self._on_change(self.name, state)


_BOARDS: weakref.WeakSet[BreakerBoard] = weakref.WeakSet()


class BreakerBoard:
    """The breakers of one kind of dependency, one per name, created on first use."""

    def __init__(self, options: BreakerOptions, *, on_change: Listener | None = None) -> None:
        self._options = options
        self._on_change = on_change
        self._breakers: dict[str, CircuitBreaker] = {}
        _BOARDS.add(self)

    def get(self, name: str) -> CircuitBreaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = self._breakers[name] = CircuitBreaker(name, self._options, on_change=self._on_change)
        return breaker

    def __iter__(self) -> Iterator[CircuitBreaker]:
        return iter(list(self._breakers.values()))


def every_breaker() -> Iterator[CircuitBreaker]:
    """The breakers of every live board in this process, for metrics."""
    for board in list(_BOARDS):
        yield from board
