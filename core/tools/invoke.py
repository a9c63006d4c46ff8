"""Calling a tool: inject its context, bound its time, retry only when that is safe, return JSON."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from core.errors import MisuseError, ToolError, ToolTimeout
from core.tools.arguments import bind_arguments
from core.tools.spec import ToolContext, ToolSpec

logger = logging.getLogger(__name__)


class ToolRetryable(Exception):
    """Raised by a tool to say the call definitely did not take effect, so trying again is safe."""


async def invoke_tool(spec: ToolSpec, args: dict[str, Any], ctx: ToolContext) -> Any:
    """Call the tool with validated `args`; the timeout applies to each attempt."""
    kwargs = bind_arguments(spec, args, ctx)
    failures = 0
    while True:
        try:
            result = await _call_once(spec, kwargs)
        except Exception as exc:
            failures += 1
            if failures >= spec.retry.max_attempts or not _may_retry(spec, exc):
                raise
            logger.warning(
                "tool call failed, retrying",
                extra={
                    "tool": spec.name,
                    "run_id": ctx.run_id,
                    "tenant_id": ctx.tenant_id,
                    "attempt": failures,
                    "error_type": type(exc).__name__,
                },
            )
            await asyncio.sleep(spec.retry.delay_s(failures))
        else:
            return _to_json(spec.name, result)


def _may_retry(spec: ToolSpec, exc: Exception) -> bool:
    if isinstance(exc, ToolRetryable):
        return True
    # A non-idempotent tool that failed or timed out may have taken effect; repeating it is not ours to decide.
    # Misuse is deterministic, so another attempt would fail the same way.
    return spec.idempotent and not isinstance(exc, MisuseError)


async def _call_once(spec: ToolSpec, kwargs: dict[str, Any]) -> Any:
    deadline = asyncio.timeout(spec.timeout_s)
    try:
        async with deadline:
            if inspect.iscoroutinefunction(spec.fn):
                return await spec.fn(**kwargs)
            # On timeout the thread cannot be killed: it runs on, but its result is dropped.
            result = await asyncio.to_thread(spec.fn, **kwargs)
            return await result if inspect.isawaitable(result) else result
    except TimeoutError as exc:
        if not deadline.expired():
            raise  # the tool's own TimeoutError, not our deadline
        raise ToolTimeout(f"{spec.name}: no answer within {spec.timeout_s:g}s") from exc


def _to_json(tool_name: str, result: Any) -> Any:
    try:
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
        elif dataclasses.is_dataclass(result) and not isinstance(result, type):
            result = to_jsonable_python(result)
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"{tool_name}: result is not JSON-serialisable: {exc}") from exc
    return result
