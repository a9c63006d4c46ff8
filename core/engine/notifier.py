"""In-process wake-ups for readers of a run (SSE streams, `wait`), and the run's live text.

Readers still poll the store, so a run advanced by another process is seen too, just a little
later. Text deltas are transient: they go from the model step to the readers of this process
and are never stored. A delta says where it belongs (`step`, `offset` in the step's text so
far), so a reader assembles exactly the model's text and knows to start over when a retried call
streams again from offset 0; the step's committed answer replaces whatever it assembled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass

_FEED_LIMIT = 4096  # deltas a reader may fall behind by before its feed stops (the answer still comes)
# Steps whose text so far is kept for readers who arrive mid-call. A step's entry goes at its
# commit; one that crashed before committing may linger, so the oldest go past this many.
_LIVE_LIMIT = 10_000


@dataclass(frozen=True)
class Delta:
    run_id: str
    step: int
    offset: int  # characters of the step's text streamed before this delta
    text: str
    tool: str | None = None  # set (with no text) when the model has just named a tool to call


class DeltaFeed:
    """One reader's deltas of one run, and a wake-up for its changes."""

    def __init__(self) -> None:
        self._deltas: deque[Delta] = deque()
        self._changed = asyncio.Event()
        self._notified = True  # the run changed in the store (or may have): read it
        self.overflowed = False

    def put(self, delta: Delta) -> None:
        if len(self._deltas) >= _FEED_LIMIT:
            self.overflowed = True
            self._deltas.clear()
        elif not self.overflowed:
            self._deltas.append(delta)
        self._changed.set()

    def wake(self) -> None:
        self._notified = True
        self._changed.set()

    def notified(self) -> bool:
        """Whether the run changed since the last call: only then is the store worth reading."""
        notified, self._notified = self._notified, False
        return notified

    def take(self) -> list[Delta]:
        """The deltas so far, each run of contiguous ones of a step joined into one."""
        taken: list[Delta] = []
        for delta in self._deltas:
            last = taken[-1] if taken else None
            if (
                last is not None
                and last.tool is None
                and delta.tool is None
                and last.step == delta.step
                and last.offset + len(last.text) == delta.offset
            ):
                taken[-1] = Delta(last.run_id, last.step, last.offset, last.text + delta.text)
            else:
                taken.append(delta)
        self._deltas.clear()
        return taken

    def settle(self) -> None:
        """Forget wake-ups so far: the reader is about to look at everything."""
        self._changed.clear()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)


class RunNotifier:
    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._feeds: defaultdict[str, set[DeltaFeed]] = defaultdict(set)
        self._live: dict[str, Delta] = {}  # per run: its streaming step's text so far, as one delta

    def notify(self, run_id: str) -> None:
        self._live.pop(run_id, None)  # a commit: the step's text is in the store now
        for event in self._waiters.get(run_id, ()):
            event.set()
        for feed in self._feeds.get(run_id, ()):
            feed.wake()

    async def wait(self, run_id: str, timeout: float) -> None:
        """Return when the run changes or after `timeout` seconds, whichever comes first."""
        event = asyncio.Event()
        self._waiters[run_id].add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters[run_id].discard(event)
            if not self._waiters[run_id]:
                del self._waiters[run_id]

    def watched(self, run_id: str) -> bool:
        return run_id in self._feeds

    def publish(self, delta: Delta) -> None:
        live = self._live.get(delta.run_id)
        if delta.offset == 0 or live is None or live.step != delta.step:
            self._live[delta.run_id] = delta
        else:
            self._live[delta.run_id] = Delta(
                delta.run_id, delta.step, 0, live.text[: delta.offset] + delta.text
            )
        for feed in self._feeds.get(delta.run_id, ()):
            feed.put(delta)

    @contextlib.contextmanager
    def feed(self, run_id: str) -> Iterator[DeltaFeed]:
        """Deltas of the run from now on, the first one being the streaming step's text so far."""
        feed = DeltaFeed()
        if (live := self._live.get(run_id)) is not None:
            feed.put(live)
        self._feeds[run_id].add(feed)
        try:
            yield feed
        finally:
            self._feeds[run_id].discard(feed)
            if not self._feeds[run_id]:
                del self._feeds[run_id]

    def sink(self, run_id: str, step: int) -> StepSink:
        """Where a model step streams its text. Every call streams (when its endpoint does), not
        only watched ones: a chat client usually starts watching after the first call began, and
        gets that call's text so far as its first delta."""
        return StepSink(self, run_id, step)


class StepSink:
    """A `core.model.port.RestartableSink` and `ToolCallSink` publishing one step's text, and the
    tools it names, to the run's readers."""

    def __init__(self, notifier: RunNotifier, run_id: str, step: int) -> None:
        self._notifier, self._run_id, self._step = notifier, run_id, step
        self._offset = 0

    async def __call__(self, text: str) -> None:
        self._notifier.publish(Delta(self._run_id, self._step, self._offset, text))
        self._offset += len(text)

    async def tool_call(self, name: str) -> None:
        self._notifier.publish(Delta(self._run_id, self._step, self._offset, "", tool=name))

    async def restart(self) -> None:
        """The model is asked again: its text starts over at offset 0."""
        self._offset = 0
