"""The facts about a chat-completions conversation that script rules match on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Conversation:
    system: str
    last_user: str | None
    # Set only when the very last message is a tool result.
    last_tool_result: str | None
    last_tool_name: str | None
    tool_result_since_user: bool
    offered_tools: tuple[str, ...]
    # The latest result of each tool called since the last user message, by tool name.
    results_by_tool: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(
        cls, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] = ()
    ) -> Conversation:
        last_user_index = _last_index(messages, "user")
        last = messages[-1] if messages else {}
        is_tool_result = last.get("role") == "tool"
        since_user = messages[0 if last_user_index is None else last_user_index + 1 :]
        return cls(
            system="\n".join(
                text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
            ),
            last_user=None if last_user_index is None else text_of(messages[last_user_index].get("content")),
            last_tool_result=text_of(last.get("content")) if is_tool_result else None,
            last_tool_name=_tool_name(messages, str(last.get("tool_call_id", "")))
            if is_tool_result
            else None,
            tool_result_since_user=any(m.get("role") == "tool" for m in since_user),
            offered_tools=tuple(_function_name(t) for t in tools),
            results_by_tool={
                name: text_of(m.get("content"))
                for m in since_user
                if m.get("role") == "tool" and (name := _tool_name(messages, str(m.get("tool_call_id", ""))))
            },
        )


def text_of(content: Any) -> str:
    """The text of a message `content`: a string, a list of parts, or None."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping) and "text" in part
        )
    return str(content)


def _last_index(messages: Sequence[Mapping[str, Any]], role: str) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == role:
            return index
    return None


def _tool_name(messages: Sequence[Mapping[str, Any]], tool_call_id: str) -> str | None:
    for message in reversed(messages):
        for call in message.get("tool_calls") or ():
            if call.get("id") == tool_call_id:
                return _function_name(call)
    return None


def _function_name(item: Mapping[str, Any]) -> str:
    function = item.get("function")
    return str(function.get("name", "")) if isinstance(function, Mapping) else str(item.get("name", ""))
