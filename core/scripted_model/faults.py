"""Fault injection and traffic recording for the scripted model server.

Both are shared between the server's thread and the test that drives it, hence the locks.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


@dataclass(frozen=True)
class Fault:
    status: int | None = None
    retry_after: float | None = None
    hang_s: float | None = None
    malformed_arguments: bool = False
    unknown_tool: bool = False
    truncate: bool = False  # the reply stops halfway: a cut JSON body, or SSE without the end
    stall_s: float | None = None  # a stream sends half its chunks, then nothing for this long, then stops
    model: str | None = None  # None: any model

    def applies_to(self, model: str) -> bool:
        return self.model is None or self.model == model


class FaultSpec(BaseModel):
    """The body of `POST /_control/faults`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0)
    hang_s: float | None = Field(default=None, gt=0)
    latency_ms: float | None = Field(default=None, ge=0)  # persistent until reset, not queued
    token_latency_ms: float | None = Field(default=None, ge=0)  # between streamed chunks; persistent
    malformed: Literal["arguments"] | None = None
    unknown_tool: bool = False
    truncate: bool = False
    stall_s: float | None = Field(default=None, gt=0)
    count: int = Field(default=1, ge=1)
    model: str | None = None

    @model_validator(mode="after")
    def _injects_something(self) -> FaultSpec:
        if self.fault() is None and self.latency_ms is None and self.token_latency_ms is None:
            raise ValueError(
                "set one of status, hang_s, latency_ms, token_latency_ms, malformed, unknown_tool, "
                "truncate, stall_s"
            )
        if self.retry_after is not None and self.status is None:
            raise ValueError("retry_after needs a status")
        return self

    def fault(self) -> Fault | None:
        """The queued part of this spec; None when it only sets latency."""
        fault = Fault(
            status=self.status,
            retry_after=self.retry_after,
            hang_s=self.hang_s,
            malformed_arguments=self.malformed == "arguments",
            unknown_tool=self.unknown_tool,
            truncate=self.truncate,
            stall_s=self.stall_s,
            model=self.model,
        )
        return None if fault == Fault(model=self.model) else fault


class FaultQueue:
    """Faults armed in order; each request takes the first one meant for its model."""

    def __init__(self, latency_ms: float = 0.0, token_latency_ms: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._base_latency_ms = latency_ms
        self._latency_ms = latency_ms
        self._base_token_latency_ms = token_latency_ms
        self._token_latency_ms = token_latency_ms
        self._armed: list[tuple[Fault, int]] = []
        self._hangs_released = False

    def apply(self, spec: FaultSpec) -> None:
        fault = spec.fault()
        with self._lock:
            if spec.latency_ms is not None:
                self._latency_ms = spec.latency_ms
            if spec.token_latency_ms is not None:
                self._token_latency_ms = spec.token_latency_ms
            if fault is not None:
                self._armed.append((fault, spec.count))

    def arm(self, fault: Fault, count: int = 1) -> None:
        with self._lock:
            self._armed.append((fault, count))

    def take(self, model: str) -> Fault | None:
        with self._lock:
            for index, (fault, remaining) in enumerate(self._armed):
                if fault.applies_to(model):
                    if remaining > 1:
                        self._armed[index] = (fault, remaining - 1)
                    else:
                        del self._armed[index]
                    return fault
        return None

    @property
    def latency_ms(self) -> float:
        with self._lock:
            return self._latency_ms

    @property
    def token_latency_ms(self) -> float:
        with self._lock:
            return self._token_latency_ms

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(remaining for _, remaining in self._armed)

    @property
    def hangs_released(self) -> bool:
        return self._hangs_released

    def release_hangs(self) -> None:
        """End every hang now; used when the server stops so shutdown does not wait."""
        self._hangs_released = True

    def reset(self) -> None:
        with self._lock:
            self._armed.clear()
            self._latency_ms = self._base_latency_ms
            self._token_latency_ms = self._base_token_latency_ms
            self._hangs_released = False


class TrafficLog:
    """The chat-completion request bodies the server received, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bodies: list[dict[str, Any]] = []

    def record(self, body: Mapping[str, Any]) -> None:
        with self._lock:
            self._bodies.append(dict(body))

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._bodies)

    def clear(self) -> None:
        with self._lock:
            self._bodies.clear()
