"""A run's events as Server-Sent Events, resumable by seq.

The store is the source of truth: the stream polls it, and the in-process notifier only cuts the
wait short, so events written by another process still arrive within one poll interval.

What a stream carries (`stream_schema` states it for the OpenAPI document):
    id: <seq>, event: <the event's type>, data: the event as JSON (`EventView`)
    event: delta, data: {"step", "offset", "text"[, "tool"]}: the model's text as it is generated,
        or the tool it has just decided to call; no id
    event: error, data: an `ErrorBody`, once, as the last message, if the stream breaks
    `: keepalive` comment lines while nothing happens

Deltas are transient (core/engine/notifier.py): never stored, so they have no id and a
reconnecting client's `Last-Event-ID` is always the last durable event's seq. After a reconnect
the client gets the durable history, then the text the streaming step has made so far (one delta
at offset 0), then the live tail. A delta at offset 0 starts the step's text over (the call was
retried); the step's `ModelResponded` event is the committed text and replaces the deltas.
Deltas of a step whose `ModelResponded` was already sent are not sent.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from channels.api.errors import public_error
from channels.api.schemas import ErrorBody, event_view
from core.engine.notifier import Delta, DeltaFeed
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
    delta = message({"const": "delta"}, DELTA_SCHEMA, with_id=False)
    delta["description"] = DELTA_NOTES
    return {
        "oneOf": [
            message(names, event_ref, with_id=True),
            delta,
            message({"const": "error"}, error_ref, with_id=False),
        ]
    }


DELTA_NOTES = (
    "The model's text as it is generated: transient, never stored, so without an `id` (a "
    "reconnecting client's Last-Event-ID stays the last durable event's seq; after a reconnect it "
    "gets the durable history, then the streaming step's text so far as one delta at offset 0, then "
    "the live tail). A delta at offset 0 starts the step's text over; the step's ModelResponded "
    "event holds the committed text and replaces the deltas. Sent only when the model endpoint "
    "streams and the worker runs in the serving process."
)
DELTA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "step": {"type": "integer", "minimum": 1, "description": "The model step the text belongs to."},
        "offset": {
            "type": "integer",
            "minimum": 0,
            "description": "Characters of the step's text before it.",
        },
        "text": {"type": "string"},
        "tool": {
            "type": "string",
            "description": "The tool the model has just decided to call (the text is then empty).",
        },
    },
    "required": ["offset", "step", "text"],
}


def format_event(event: RunEvent) -> str:
    data = event_view(event).model_dump_json()
    return f"id: {event.seq}\nevent: {event.type}\ndata: {data}\n\n"


def format_delta(delta: Delta) -> str:
    fields: dict[str, Any] = {"step": delta.step, "offset": delta.offset, "text": delta.text}
    if delta.tool is not None:
        fields["tool"] = delta.tool
    data = json.dumps(fields)
    return f"event: delta\ndata: {data}\n\n"


def format_error(exc: SwitchboardError) -> str:
    _, error = public_error(exc)
    data = ErrorBody(error=error).model_dump_json()
    return f"event: error\ndata: {data}\n\n"


async def event_stream(
    runtime: Runtime, who: Principal, run_id: str, *, after: int, follow: bool, options: StreamOptions
) -> AsyncIterator[str]:
    """Yields SSE messages until the run closes (or at once, without `follow`). A client that
    disconnects cancels the iteration at its current await; leaving the feed's block is all the
    cleaning up there is."""
    if not follow:
        async for message in _events(runtime, who, run_id, after, None, options):
            yield message
        return
    with runtime.notifier.feed(run_id) as feed:
        async for message in _events(runtime, who, run_id, after, feed, options):
            yield message


async def _events(
    runtime: Runtime,
    who: Principal,
    run_id: str,
    after: int,
    feed: DeltaFeed | None,
    options: StreamOptions,
) -> AsyncIterator[str]:
    last_seq = after
    responded = 0  # the last model step whose committed text was sent: its deltas are stale
    last_sent = last_read = time.monotonic()
    try:
        while True:
            if feed is not None:
                feed.settle()
            # The store is read when the run changed (a commit in this process), or every poll
            # (another process); a wake-up for deltas alone sends them without a read.
            now = time.monotonic()
            if feed is None or feed.notified() or now - last_read >= options.poll_s:
                last_read = now
                # Status first, events second: a closing status is committed with its last event,
                # so the events read after it include everything the run will ever write.
                run = await runtime.run(who, run_id)
                while batch := await runtime.events(who, run_id, last_seq):
                    for event in batch:
                        yield format_event(event)
                        last_seq = event.seq
                        if event.type == EventType.MODEL_RESPONDED:
                            responded = max(responded, int(event.payload.get("step") or 0))
                    last_sent = time.monotonic()
                if feed is None or run.status in CLOSING:
                    return
            if deltas := [format_delta(d) for d in feed.take() if d.step > responded]:
                yield "".join(deltas)
                last_sent = time.monotonic()
            if time.monotonic() - last_sent >= options.keepalive_s:
                yield ": keepalive\n\n"
                last_sent = time.monotonic()
            await feed.wait(max(0.0, options.poll_s - (time.monotonic() - last_read)))
    except SwitchboardError as exc:
        # The response has started: the error can only travel as an event.
        log.warning(
            "event stream ended by %s: %s", exc.code, exc.message, extra={"run_id": run_id, "surface": "api"}
        )
        yield format_error(exc)
