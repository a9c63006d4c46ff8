"""Which of the store's transactions go first: a request's before background work.

The API marks each request with `urgency`; the database (core/store/database.py) reads it when a
transaction waits for a thread and, on SQLite, for the writer lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from enum import IntEnum


class Urgency(IntEnum):
    """Which transactions get a thread (and the writer lock) first; lower goes first."""

    INGRESS = 0  # a request that changes something: a submission, a decision
    READ = 1  # a request that reads: polling a run
    BACKGROUND = 2  # steps, the scheduler, the sweeper: whatever no caller is waiting on


_URGENCY: ContextVar[Urgency] = ContextVar("switchboard_store_urgency", default=Urgency.BACKGROUND)


@contextlib.contextmanager
def urgency(level: Urgency) -> Iterator[None]:
    """Transactions started in this context (this task, and tasks it creates) wait as `level`."""
    token = _URGENCY.set(level)
    try:
        yield
    finally:
        _URGENCY.reset(token)


def current_urgency() -> Urgency:
    return _URGENCY.get()
