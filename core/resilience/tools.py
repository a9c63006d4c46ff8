"""Calling tools behind a circuit breaker per tool, with latency and error metrics.

A tool whose breaker is open is not called: the step gets `ToolUnavailable`, which reaches the
agent as a structured "unavailable, try later" result instead of another call that would hang
until its timeout.
"""

from __future__ import annotations

import time
from typing import Any

from core import metrics
from core.errors import MisuseError, ToolArgumentsInvalid, ToolUnavailable
from core.resilience.breaker import BreakerBoard, BreakerOptions
from core.tools.invoke import invoke_tool
from core.tools.spec import ToolContext, ToolSpec


class GuardedTools:
    def __init__(self, options: BreakerOptions | None = None) -> None:
        self._breakers = BreakerBoard(options or BreakerOptions(), on_change=metrics.breaker_changed)

    async def invoke(self, spec: ToolSpec, args: dict[str, Any], ctx: ToolContext) -> Any:
        breaker = self._breakers.get(f"tool:{spec.name}")
        if not breaker.allow():
            metrics.TOOL_ERRORS.labels(spec.name, ToolUnavailable.code).inc()
            raise ToolUnavailable(
                f"{spec.name} is unavailable: it failed repeatedly and is paused; try again in "
                f"{max(1, round(breaker.retry_in()))}s or carry on without it"
            )
        started = time.perf_counter()
        try:
            result = await invoke_tool(spec, args, ctx)
        except Exception as exc:
            code = getattr(exc, "code", type(exc).__name__)
            metrics.TOOL_ERRORS.labels(spec.name, code).inc()
            if not isinstance(
                exc, MisuseError | ToolArgumentsInvalid
            ):  # bad input says nothing of its health
                breaker.failure()
            raise
        finally:
            metrics.TOOL_SECONDS.labels(spec.name).observe(time.perf_counter() - started)
        breaker.success()
        return result
