"""The agent's working state, written as a checkpoint after every step."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.model.port import Message


@dataclass(frozen=True)
class PendingCall:
    key: str  # idempotency key: run + proposing step + call index
    call_id: str  # the model's tool_call id, echoed in the tool message
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class AgentState:
    messages: tuple[Message, ...] = ()  # this run's conversation: its user message onwards
    pending: tuple[PendingCall, ...] = ()  # proposed tool calls not yet resolved, in order
    model_steps: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "messages": list(self.messages),
            "pending": [asdict(p) for p in self.pending],
            "model_steps": self.model_steps,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentState:
        return cls(
            messages=tuple(data.get("messages", ())),
            pending=tuple(PendingCall(**p) for p in data.get("pending", ())),
            model_steps=int(data.get("model_steps", 0)),
        )

    def with_messages(self, *more: Message) -> AgentState:
        return replace(self, messages=(*self.messages, *more))

    def resolve_first(self, result_message: Message) -> AgentState:
        """Drop the first pending call and append its tool result."""
        return replace(self, pending=self.pending[1:], messages=(*self.messages, result_message))


@dataclass(frozen=True)
class StepContext:
    """What a step knows beyond the checkpoint."""

    step: int  # the number this step will have once committed
    history: list[Message] = field(default_factory=list)
