"""In-process wake-ups for readers of a run (SSE streams, `wait`). Readers still poll the store,
so a run advanced by another process is seen too, just a little later."""

from __future__ import annotations

import asyncio
from collections import defaultdict


class RunNotifier:
    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    def notify(self, run_id: str) -> None:
        for event in self._waiters.get(run_id, ()):
            event.set()

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
