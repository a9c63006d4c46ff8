"""The scripted model's HTTP surface, an OpenAI-compatible Starlette app.

POST /v1/chat/completions   scripted replies, plain JSON or SSE (`stream: true`)
GET  /v1/models             the script's model names (any name is accepted anyway)
POST /v1/embeddings         deterministic hashed bag-of-words vectors (core/scripted_model/embeddings.py)
POST /_control/faults       arm a fault, see `FaultSpec`
POST /_control/reset        drop faults, latency overrides and recorded requests
GET  /_control/requests     the recorded chat-completion request bodies
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from core.scripted_model.embeddings import embeddings
from core.scripted_model.faults import Fault, FaultQueue, FaultSpec, TrafficLog
from core.scripted_model.script import Answer, Script, ScriptedCall
from core.scripted_model.wire import Completion, WireCall, completion_text, estimate_tokens, prompt_text

UNKNOWN_TOOL = "no_such_tool"
_HANG_POLL_S = 0.05


def build_app(
    script: Script,
    *,
    latency_ms: float = 0.0,
    faults: FaultQueue | None = None,
    traffic: TrafficLog | None = None,
) -> Starlette:
    api = _ScriptedApi(
        script,
        faults if faults is not None else FaultQueue(latency_ms),
        traffic if traffic is not None else TrafficLog(),
    )
    return Starlette(
        routes=[
            Route("/v1/chat/completions", api.chat_completions, methods=["POST"]),
            Route("/v1/models", api.list_models, methods=["GET"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/_control/faults", api.arm_fault, methods=["POST"]),
            Route("/_control/reset", api.reset, methods=["POST"]),
            Route("/_control/requests", api.recorded_requests, methods=["GET"]),
        ]
    )


class _ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[dict[str, Any]] = []
    stream: bool = False
    stream_options: dict[str, Any] | None = None

    @property
    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))


class _ScriptedApi:
    def __init__(self, script: Script, faults: FaultQueue, traffic: TrafficLog) -> None:
        self._script = script
        self._faults = faults
        self._traffic = traffic
        self._serial = itertools.count(1)

    async def chat_completions(self, request: Request) -> Response:
        chat = await self._parse(request)
        if isinstance(chat, Response):
            return chat
        await _sleep_ms(self._faults.latency_ms)
        fault = self._faults.take(chat.model)
        if fault is not None and fault.hang_s is not None:
            await _hang(request, fault.hang_s, lambda: self._faults.hangs_released)
        if fault is not None and fault.status is not None:
            return _fault_error(fault)
        answer = self._script.respond(chat.messages, chat.tools)
        await _sleep_ms(answer.latency_ms)
        completion = self._completion(chat, _sabotage(answer, fault, chat.tools))
        truncate = fault is not None and fault.truncate
        if chat.stream:
            events = list(completion.sse_events(chat.include_usage))
            stall_s = fault.stall_s if fault is not None else None
            if truncate or stall_s is not None:
                events = events[: len(events) // 2]
            paced = _paced(events, self._faults.token_latency_ms, request, stall_s, self._faults)
            return StreamingResponse(paced, media_type="text/event-stream")
        if truncate:
            text = json.dumps(completion.to_json())
            return Response(text[: len(text) // 2], media_type="application/json")
        return JSONResponse(completion.to_json())

    async def list_models(self, request: Request) -> Response:
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "switchboard"}
            for name in self._script.models
        ]
        return JSONResponse({"object": "list", "data": data})

    async def arm_fault(self, request: Request) -> Response:
        try:
            spec = FaultSpec.model_validate(await request.json())
        except ValueError as exc:  # pydantic's ValidationError is a ValueError too
            return _error(400, f"invalid fault: {exc}")
        self._faults.apply(spec)
        return JSONResponse({"pending": self._faults.pending, "latency_ms": self._faults.latency_ms})

    async def reset(self, request: Request) -> Response:
        self._faults.reset()
        self._traffic.clear()
        return JSONResponse({"ok": True})

    async def recorded_requests(self, request: Request) -> Response:
        return JSONResponse({"requests": self._traffic.bodies()})

    async def _parse(self, request: Request) -> _ChatRequest | Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the request body is not JSON")
        if isinstance(body, dict):
            self._traffic.record(body)
        try:
            return _ChatRequest.model_validate(body)
        except ValidationError as exc:
            return _error(400, f"invalid chat completion request: {exc.errors(include_url=False)}")

    def _completion(self, chat: _ChatRequest, answer: Answer) -> Completion:
        calls = tuple(WireCall(f"call_{next(self._serial)}", c.name, c.arguments) for c in answer.tool_calls)
        return Completion(
            id=f"chatcmpl-{next(self._serial)}",
            model=chat.model,
            created=int(time.time()),
            content=answer.content,
            tool_calls=calls,
            prompt_tokens=estimate_tokens(prompt_text(chat.messages, chat.tools)),
            completion_tokens=estimate_tokens(completion_text(answer.content, calls)),
        )


def _sabotage(answer: Answer, fault: Fault | None, tools: list[dict[str, Any]]) -> Answer:
    if fault is None:
        return answer
    calls = answer.tool_calls
    if fault.unknown_tool:
        calls = (ScriptedCall(UNKNOWN_TOOL, "{}"),)
    if fault.malformed_arguments:
        if not calls:
            offered = tools[0].get("function", {}).get("name") if tools else None
            calls = (ScriptedCall(str(offered or UNKNOWN_TOOL), "{}"),)
        # Cut the closing brace: the text still looks like JSON but never parses.
        calls = tuple(ScriptedCall(call.name, call.arguments[:-1] or "{") for call in calls)
    return Answer(content=answer.content, tool_calls=calls, latency_ms=answer.latency_ms, rule=answer.rule)


def _fault_error(fault: Fault) -> Response:
    status = fault.status or 500
    headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
    kinds = {404: ("invalid_request_error", "model_not_found"), 429: ("requests", "rate_limit_exceeded")}
    kind, code = kinds.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return _error(status, f"injected fault: HTTP {status}", kind=kind, code=code, headers=headers)


def _error(
    status: int,
    message: str,
    *,
    kind: str = "invalid_request_error",
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _sleep_ms(milliseconds: float) -> None:
    if milliseconds > 0:
        await asyncio.sleep(milliseconds / 1000)


async def _hang(request: Request, seconds: float, released: Callable[[], bool]) -> None:
    # Polling, so that a client that gave up, or a server that is stopping, ends the hang at once.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not released() and not await request.is_disconnected():
        await asyncio.sleep(_HANG_POLL_S)


async def _paced(
    events: Iterable[str], token_ms: float, request: Request, stall_s: float | None, faults: FaultQueue
) -> AsyncIterator[str]:
    """The chunks with `token_ms` between them (the first at once); with `stall_s`, a silence
    after the last one before the connection closes without the stream's end."""
    for index, event in enumerate(events):
        if index:
            await _sleep_ms(token_ms)
        yield event
    if stall_s is not None:
        await _hang(request, stall_s, lambda: faults.hangs_released)
