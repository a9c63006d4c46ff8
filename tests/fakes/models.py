"""A real implementation of the model port whose replies come from a Python function.

For engine tests that need no HTTP; the end-to-end tests use the scripted model server instead.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import ModelUnavailable
from core.model.port import DeltaSink, Message, ModelReply, ModelRequest, ToolCall, Usage


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Call:
    name: str
    args: dict[str, Any] | str  # a str is sent verbatim (to test malformed arguments)


Reply = Say | list[Call]
Policy = Callable[[list[Message]], Reply]


@dataclass
class FunctionModel:
    policy: Policy
    requests: list[ModelRequest] = field(default_factory=list)
    down: bool = False
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def complete(self, request: ModelRequest, on_delta: DeltaSink | None = None) -> ModelReply:
        self.requests.append(request)
        if self.down:
            raise ModelUnavailable(f"{request.models[0]}: connection refused")
        reply = self.policy(request.messages)
        if isinstance(reply, Say):
            if on_delta is not None:
                await on_delta(reply.text)
            return ModelReply(reply.text, (), request.models[0], Usage(10, 5), 0.001, 1.0, 1)
        calls = tuple(
            ToolCall(
                f"call_{next(self._ids)}", c.name, c.args if isinstance(c.args, str) else json.dumps(c.args)
            )
            for c in reply
        )
        return ModelReply(None, calls, request.models[0], Usage(10, 5), 0.001, 1.0, 1)


def last_tool_results(messages: list[Message]) -> list[str]:
    """Contents of the tool messages after the last assistant message."""
    results: list[str] = []
    for m in reversed(messages):
        if m["role"] != "tool":
            break
        results.insert(0, m["content"])
    return results


def ledger_policy(messages: list[Message]) -> Reply:
    """ship(a) → charge(5) → ship(b) → "done"; mirrors tests/fakes/ledger_script.yaml."""
    done = [m for m in messages if m["role"] == "tool"]
    plan: list[Reply] = [
        [Call("ship", {"item": "a"})],
        [Call("charge", {"amount": 5})],
        [Call("ship", {"item": "b"})],
        Say("done"),
    ]
    return plan[min(len(done), len(plan) - 1)]
