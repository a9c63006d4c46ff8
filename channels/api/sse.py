"""A run's events as Server-Sent Events, resumable by seq.

The store is the source of truth: the stream polls it, and the in-process notifier only cuts the
wait short, so events written by another process still arrive within one poll interval.

What a stream carries (`stream_schema` states it for the OpenAPI document):
    id: <seq>, event: <the event's type>, data: the event as JSON (`EventView`)
    event: error, data: an `ErrorBody`, once, as the last message, if the stream breaks
    `: keepalive` comment lines while nothing happens
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from channels.api.errors import public_error
from channels.api.schemas import ErrorBody, event_view
from core.errors import SwitchboardError
from core.events import EventType
from core.lifecycle import FINAL, RunStatus
from core.records import Principal, RunEvent
from core.runtime import Runtime

log = logging.getLogger(__name__)

# A stream closes once its run reaches one of these and every event has been sent. A failed run
# may be resumed later; a client that wants to see that follows it with a new request.
CLOSING = FINAL | {RunStatus.FAILED}


@dataclass(frozen=True)
class StreamOptions:
    poll_s: float = 1.0  # longest wait between two store polls
    keepalive_s: float = 15.0  # a comment line this often keeps proxies from closing an idle stream


def stream_schema(event_ref: dict[str, Any], error_ref: dict[str, Any]) -> dict[str, Any]:
    """One message of the stream, as JSON Schema over its fields (as OpenAPI 3.2's `itemSchema`
    of text/event-stream reads them); `data` is JSON, of the schema its event names."""

    def message(event: dict[str, Any], data: dict[str, Any], *, with_id: bool) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "event": event,
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data},
        }
        if with_id:
            properties["id"] = {"type": "string", "pattern": "^[0-9]+$", "description": "The event's seq."}
        return {"type": "object", "properties": properties, "required": sorted(properties)}

    names = {"type": "string", "enum": sorted(e.value for e in EventType), "description": "The event's type."}
    return {
        "oneOf": [
            message(names, event_ref, with_id=True),
            message({"const": "error"}, error_ref, with_id=False),
        ]
    }


def format_event(event: RunEvent) -> str:
    data = event_view(event).model_dump_json()
    return f"id: {event.seq}\nevent: {event.type}\ndata: {data}\n\n"


def format_error(exc: SwitchboardError) -> str:
    _, error = public_error(exc)
    data = ErrorBody(error=error).model_dump_json()
    return f"event: error\ndata: {data}\n\n"


async def event_stream(
    runtime: Runtime, who: Principal, run_id: str, *, after: int, follow: bool, options: StreamOptions
) -> AsyncIterator[str]:
    """Yields SSE messages until the run closes (or at once, without `follow`). A client that
    disconnects cancels the iteration at its current await; nothing here needs cleaning up."""
    last_seq = after
    last_sent = time.monotonic()
    try:
        while True:
            # Status first, events second: a closing status is committed with its last event,
            # so the events read after it include everything the run will ever write.
            run = await runtime.run(who, run_id)
            while batch := await runtime.events(who, run_id, last_seq):
                for event in batch:
                    yield format_event(event)
                    last_seq = event.seq
                last_sent = time.monotonic()
            if not follow or run.status in CLOSING:
                return
            if time.monotonic() - last_sent >= options.keepalive_s:
                yield ": keepalive\n\n"
                last_sent = time.monotonic()
            await runtime.notifier.wait(run_id, options.poll_s)
    except SwitchboardError as exc:
        # The response has started: the error can only travel as an event.
        log.warning(
            "event stream ended by %s: %s", exc.code, exc.message, extra={"run_id": run_id, "surface": "api"}
        )
        yield format_error(exc)
