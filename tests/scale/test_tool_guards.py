"""A breaker per tool: after repeated failures the tool is not called at all, and the step gets
`ToolUnavailable` (the agent reads "unavailable, try later") instead of another call that hangs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.errors import ToolTimeout, ToolUnavailable
from core.resilience.breaker import BreakerOptions
from core.resilience.tools import GuardedTools
from core.tools import ToolContext, tool

CTX = ToolContext(tenant_id="t", user_id="u", run_id="r", idempotency_key="k")
calls: list[str] = []
healthy = {"now": False}


@tool(timeout_s=0.05, idempotent=True)
async def flaky(item: str) -> dict[str, Any]:
    """Hangs until it is healthy again.

    Args:
        item: anything.
    """
    calls.append(item)
    if not healthy["now"]:
        await asyncio.sleep(1)
    return {"ok": item}


async def test_an_open_breaker_stops_calls_and_a_probe_closes_it() -> None:
    calls.clear()
    healthy["now"] = False
    tools = GuardedTools(BreakerOptions(failures=2, window_s=10, open_s=0.2))
    for _ in range(2):
        with pytest.raises(ToolTimeout):
            await tools.invoke(flaky, {"item": "a"}, CTX)
    with pytest.raises(ToolUnavailable, match="try again"):
        await tools.invoke(flaky, {"item": "b"}, CTX)
    assert calls == ["a", "a"]  # the third call never reached the tool
    await asyncio.sleep(0.25)
    healthy["now"] = True
    assert await tools.invoke(flaky, {"item": "c"}, CTX) == {"ok": "c"}  # the probe
    assert await tools.invoke(flaky, {"item": "d"}, CTX) == {"ok": "d"}


async def test_bad_arguments_say_nothing_about_the_tool() -> None:
    tools = GuardedTools(BreakerOptions(failures=1))
    for _ in range(3):
        with pytest.raises(Exception, match="item"):
            await tools.invoke(flaky, {}, CTX)
    healthy["now"] = True
    assert await tools.invoke(flaky, {"item": "e"}, CTX) == {"ok": "e"}
