"""OpenAI chat-completions wire format: a reply as one JSON body or as SSE chunks."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.scripted_model.conversation import text_of

_ARGUMENT_PIECE = 16  # characters of tool-call arguments per streamed chunk


@dataclass(frozen=True)
class WireCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Completion:
    id: str
    model: str
    created: int
    content: str | None
    tool_calls: tuple[WireCall, ...]
    prompt_tokens: int
    completion_tokens: int

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    def to_json(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.content, "refusal": None}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish_reason}
            ],
            "usage": self.usage(),
        }

    def sse_events(self, include_usage: bool) -> Iterator[str]:
        """`data: ...` events as OpenAI streams them, ending with `data: [DONE]`."""
        first: dict[str, Any] = {"role": "assistant", "content": "" if self.content is not None else None}
        yield self._event(self._chunk(first, None, include_usage))
        for piece in _words(self.content or ""):
            yield self._event(self._chunk({"content": piece}, None, include_usage))
        for index, call in enumerate(self.tool_calls):
            function = {"name": call.name, "arguments": ""}
            opening = {"index": index, "id": call.id, "type": "function", "function": function}
            yield self._event(self._chunk({"tool_calls": [opening]}, None, include_usage))
            for start in range(0, len(call.arguments), _ARGUMENT_PIECE):
                piece = call.arguments[start : start + _ARGUMENT_PIECE]
                delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                yield self._event(self._chunk(delta, None, include_usage))
        yield self._event(self._chunk({}, self.finish_reason, include_usage))
        if include_usage:
            yield self._event({**self._envelope(), "choices": [], "usage": self.usage()})
        yield "data: [DONE]\n\n"

    def _envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None, include_usage: bool) -> dict[str, Any]:
        chunk = {
            **self._envelope(),
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if include_usage:
            chunk["usage"] = None
        return chunk

    @staticmethod
    def _event(payload: Mapping[str, Any]) -> str:
        return f"data: {json.dumps(payload)}\n\n"


def estimate_tokens(text: str) -> int:
    """Roughly four characters a token: deterministic, which is all tests and benches need."""
    return math.ceil(len(text) / 4)


def prompt_text(messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]) -> str:
    parts = [text_of(message.get("content")) for message in messages]
    for message in messages:
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            parts += [str(function.get("name", "")), str(function.get("arguments", ""))]
    parts += [json.dumps(tool, sort_keys=True) for tool in tools]
    return "".join(parts)


def completion_text(content: str | None, tool_calls: Sequence[WireCall]) -> str:
    return (content or "") + "".join(call.name + call.arguments for call in tool_calls)


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)
