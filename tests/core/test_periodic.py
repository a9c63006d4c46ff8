"""A periodic round that fails is logged and the next round comes: recovery never stops."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import REGISTRY

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


async def test_stopping_lets_the_round_in_hand_finish() -> None:
    """A tick between "run submitted" and "fire recorded" must not be cut in half by a stop."""
    began, finished = asyncio.Event(), []

    async def work() -> None:
        began.set()
        await asyncio.sleep(0.2)
        finished.append(True)

    periodic = Periodic("scheduler", 60.0, work, logging.getLogger("test.periodic"))
    periodic.start()
    await began.wait()
    await periodic.stop()
    assert finished == [True]


async def test_a_stop_between_rounds_does_not_wait_out_the_interval() -> None:
    rounds: list[int] = []

    async def work() -> None:
        rounds.append(1)

    periodic = Periodic("sweeper", 60.0, work, logging.getLogger("test.periodic"))
    periodic.start()
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await periodic.stop()
    assert loop.time() - started < 1.0 and rounds == [1]


async def test_a_round_that_will_not_finish_is_cancelled_after_the_grace() -> None:
    async def work() -> None:
        await asyncio.sleep(3600)

    periodic = Periodic("scheduler", 1.0, work, logging.getLogger("test.periodic"), stop_grace_s=0.1)
    periodic.start()
    await asyncio.sleep(0.05)
    await asyncio.wait_for(periodic.stop(), 2.0)


async def test_a_round_failing_the_same_way_again_and_again_logs_its_traceback_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[int] = []

    async def work() -> None:
        rounds.append(1)
        raise ValueError("year 33715 is out of range")

    labels = {"loop": "stuck"}
    before = REGISTRY.get_sample_value("switchboard_loop_round_failures_total", labels) or 0.0
    periodic = Periodic("stuck", 0.001, work, logging.getLogger("test.periodic"))
    periodic.start()
    try:
        for _ in range(500):
            if len(rounds) >= 10:
                break
            await asyncio.sleep(0.01)
    finally:
        await periodic.stop()
    assert len([r for r in caplog.records if r.exc_info]) == 1
    assert len(caplog.records) < len(rounds)
    after = REGISTRY.get_sample_value("switchboard_loop_round_failures_total", labels) or 0.0
    assert after == before + len(rounds)
