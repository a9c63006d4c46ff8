"""A periodic round that fails is logged and the next round comes: recovery never stops."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.errors import StoreUnavailable
from core.periodic import Periodic


async def test_failed_rounds_do_not_end_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    rounds: list[int] = []

    async def work() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise StoreUnavailable("the database is unavailable")
        if len(rounds) == 2:
            raise ValueError("a bug in one round")

    periodic = Periodic("sweeper", 0.01, work, logging.getLogger("test.periodic"))
    periodic.start()
    try:
        for _ in range(500):
            if len(rounds) >= 4:
                break
            await asyncio.sleep(0.01)
    finally:
        await periodic.stop()
    assert len(rounds) >= 4
    assert "sweeper skipped a round: the database is unavailable" in caplog.text
    assert "sweeper failed a round" in caplog.text
