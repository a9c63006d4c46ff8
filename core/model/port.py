"""What the engine needs from a language model, stated as data and one Protocol."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# OpenAI chat-completions message dicts ({"role": ..., "content": ..., "tool_calls": ...}).
Message = dict[str, Any]
DeltaSink = Callable[[str], Awaitable[None]]


@runtime_checkable
class RestartableSink(Protocol):
    """A delta sink whose readers can take the text starting over (they replace what they have):
    a stream that breaks after some text may then be retried instead of failing the call."""

    async def __call__(self, text: str) -> None: ...

    async def restart(self) -> None: ...


@runtime_checkable
class ToolCallSink(Protocol):
    """A delta sink that also hears, as soon as a streamed reply names it, each tool the model
    decided to call (before its arguments have arrived)."""

    async def __call__(self, text: str) -> None: ...

    async def tool_call(self, name: str) -> None: ...


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # the raw JSON text the model produced; validated by the tool layer


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class ModelRequest:
    models: tuple[str, ...]  # the primary model first, then the fallbacks in order
    messages: list[Message]
    tools: list[dict[str, Any]] = field(default_factory=list)  # OpenAI "function" tool schemas
    tenant_id: str = ""  # for rate limits and attribution; never sent to the provider


@dataclass(frozen=True)
class ModelReply:
    content: str | None
    tool_calls: tuple[ToolCall, ...]
    model: str  # the model that actually answered
    usage: Usage
    cost_usd: float
    latency_ms: float
    attempts: int  # HTTP attempts across the whole chain, retries included
    failures: tuple[str, ...] = ()  # "model: reason" for each model that failed before this one


class ModelClient(Protocol):
    async def complete(self, request: ModelRequest, on_delta: DeltaSink | None = None) -> ModelReply:
        """Answer one chat completion; stream text deltas to `on_delta` when given.

        Raises `core.errors.ModelUnavailable` when every model in the chain failed.
        """
        ...
