"""The circuit breaker's states, driven by a hand-moved clock."""

from __future__ import annotations

from core.resilience.breaker import BreakerBoard, BreakerOptions, BreakerState, CircuitBreaker, every_breaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, changes: list[BreakerState] | None = None) -> CircuitBreaker:
    options = BreakerOptions(failures=3, window_s=10.0, open_s=5.0)
    record = (lambda _name, state: changes.append(state)) if changes is not None else None
    return CircuitBreaker("dep", options, clock=clock, on_change=record)


def test_opens_after_failures_within_the_window() -> None:
    clock = Clock()
    b = breaker(clock)
    b.failure()
    b.failure()
    assert b.allow() and b.state is BreakerState.CLOSED
    b.failure()
    assert b.state is BreakerState.OPEN
    assert not b.allow()
    assert b.retry_in() == 5.0


def test_failures_outside_the_window_do_not_count() -> None:
    clock = Clock()
    b = breaker(clock)
    b.failure()
    b.failure()
    clock.now += 11
    b.failure()
    assert b.state is BreakerState.CLOSED


def test_a_success_forgets_earlier_failures() -> None:
    clock = Clock()
    b = breaker(clock)
    b.failure()
    b.failure()
    b.success()
    b.failure()
    b.failure()
    assert b.state is BreakerState.CLOSED


def test_half_open_lets_one_probe_through_and_closes_on_success() -> None:
    clock = Clock()
    changes: list[BreakerState] = []
    b = breaker(clock, changes)
    for _ in range(3):
        b.failure()
    clock.now += 5
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow()  # the probe
    assert not b.allow()  # everyone else waits for its answer
    b.success()
    assert b.state is BreakerState.CLOSED and b.allow()
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_a_failed_probe_opens_the_breaker_again() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(3):
        b.failure()
    clock.now += 5
    assert b.allow()
    b.failure()
    assert b.state is BreakerState.OPEN and not b.allow()
    assert b.retry_in() == 5.0


def test_a_probe_that_never_reports_is_replaced() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(3):
        b.failure()
    clock.now += 5
    assert b.allow()
    clock.now += 1
    assert not b.allow()
    clock.now += 5
    assert b.allow()


def test_boards_hand_out_one_breaker_per_name_and_are_visible_to_metrics() -> None:
    board = BreakerBoard(BreakerOptions())
    assert board.get("a") is board.get("a")
    assert board.get("a") is not board.get("b")
    assert {b.name for b in every_breaker()} >= {"a", "b"}
