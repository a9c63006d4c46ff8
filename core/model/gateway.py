"""`ModelClient` on the official `openai` SDK, for any OpenAI-compatible endpoint.

Each model in the chain is retried with backoff on 429, 5xx, timeouts and connection
errors, honouring Retry-After. A model that stays unavailable, or does not exist, hands
over to the next one. A request the endpoint rejects (other 4xx) ends the chain at once:
every model sits behind the same endpoint, so none would take it. SDK exceptions stop
here; callers only ever see `core.errors`.

Every attempt first takes its share of the provider's rate limit (shared by all workers) and
passes the model's circuit breaker. An open breaker skips to the next model at once; when an
open breaker stopped the chain, the call waits (bounded) for it to let a probe through, so an
outage slows runs down instead of failing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import enum
import json
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import openai
from openai import AsyncOpenAI, AsyncStream, DefaultAioHttpClient
from openai.types.chat import ChatCompletion

from core import metrics
from core.errors import ModelError, ModelUnavailable
from core.model.port import (
    DeltaSink,
    ModelReply,
    ModelRequest,
    RestartableSink,
    ToolCall,
    ToolCallSink,
    Usage,
)
from core.model.pricing import PriceTable
from core.resilience.breaker import BreakerBoard, BreakerOptions
from core.resilience.ratelimit import RateLimited, RateLimiter, RateLimits
from core.settings import ModelSettings

logger = logging.getLogger(__name__)

# The SDK lets the JSON errors of a garbled body through unwrapped.
_SDK_FAILURES = (openai.OpenAIError, ValueError)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_API_KEY = "sk-local"  # local servers ignore the key, but the SDK insists on one


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 0.5
    max_s: float = 8.0
    # A longer Retry-After is not waited out: the next model in the chain is tried instead.
    max_retry_after_s: float = 60.0

    def delay_s(self, retry: int, retry_after_s: float | None) -> float | None:
        """Seconds before retry number `retry` (0-based); None when it is not worth waiting."""
        if retry_after_s is not None:  # never earlier; a little later, so callers do not retry in step
            return (
                max(retry_after_s, 0.0) * (1 + 0.1 * random.random())
                if retry_after_s <= self.max_retry_after_s
                else None
            )
        return min(self.initial_s * 2.0**retry, self.max_s) * (1 - 0.25 * random.random())


@dataclass(frozen=True)
class Guards:
    """The provider's rate limiter and the breakers of its models."""

    limiter: RateLimiter
    breakers: BreakerBoard
    breaker_wait_s: float = 30.0  # how long a call waits for an open breaker before giving up

    @classmethod
    def default(cls) -> Guards:
        return cls(
            RateLimiter(RateLimits()), BreakerBoard(BreakerOptions(), on_change=metrics.breaker_changed)
        )


class OpenAIGateway:
    def __init__(
        self, settings: ModelSettings, *, backoff: Backoff | None = None, guards: Guards | None = None
    ) -> None:
        api_key = settings.api_key.get_secret_value() if settings.api_key else PLACEHOLDER_API_KEY
        self._client = AsyncOpenAI(
            base_url=settings.base_url or DEFAULT_BASE_URL,
            api_key=api_key,
            timeout=settings.timeout_s,
            max_retries=0,  # retried here instead, to count attempts and to fall back between models
            # The SDK's aiohttp transport: against the scripted model at 300 ms with 64 calls in
            # flight it cost 0.77 ms of CPU per call, the default (httpx) 1.37 ms.
            http_client=DefaultAioHttpClient(timeout=settings.timeout_s),
        )
        self._max_retries = settings.max_retries
        self._backoff = backoff if backoff is not None else Backoff()
        self._prices = PriceTable.with_overrides(settings.prices)
        self._provider = settings.base_url or DEFAULT_BASE_URL
        self._guards = guards or Guards.default()
        self._stream = settings.stream

    async def complete(self, request: ModelRequest, on_delta: DeltaSink | None = None) -> ModelReply:
        if not request.models:
            raise ModelError("the model request names no model")
        started = time.perf_counter()
        deadline = started + self._guards.breaker_wait_s
        while True:
            try:
                return await self._chain(request, on_delta, started)
            except _CircuitsOpen as exc:
                if time.perf_counter() + exc.retry_in_s > deadline:
                    raise ModelUnavailable(f"every model failed: {exc.summary}") from None
                await asyncio.sleep(exc.retry_in_s + 0.05 * random.random())

    async def _chain(self, request: ModelRequest, on_delta: DeltaSink | None, started: float) -> ModelReply:
        """The models in order, once. Raises `_CircuitsOpen` when an open breaker stopped one."""
        attempts = 0
        failures: list[str] = []
        circuit_open: list[float] = []
        for model in request.models:
            outcome, used = await self._ask(model, request, on_delta)
            attempts += used
            if isinstance(outcome, _Answer):
                _observe(model, outcome, started)
                return ModelReply(
                    content=outcome.content,
                    tool_calls=outcome.tool_calls,
                    model=model,
                    usage=outcome.usage,
                    cost_usd=self._prices.cost_usd(model, outcome.usage),
                    latency_ms=(time.perf_counter() - started) * 1000,
                    attempts=attempts,
                    failures=tuple(failures),
                )
            failure = f"{model}: {outcome.reason}" + (f" ({used} attempts)" if used > 1 else "")
            if outcome.retry_in_s is not None:  # skipped for an open circuit: no news
                failures.append(failure)
                circuit_open.append(outcome.retry_in_s)
                continue
            logger.warning(
                "model failed: %s",
                failure,
                extra={"model": model, "tenant_id": request.tenant_id, "reason": failure},
            )
            if outcome.next_step is _Next.REJECT:
                raise ModelError(f"the model endpoint rejected the request: {failure}")
            failures.append(failure)
            if outcome.next_step is _Next.STOP:
                raise ModelUnavailable(f"the model stopped mid-answer: {'; '.join(failures)}")
        if circuit_open:
            raise _CircuitsOpen(min(circuit_open), "; ".join(failures))
        raise ModelUnavailable(f"every model failed: {'; '.join(failures)}")

    async def aclose(self) -> None:
        await self._client.close()
        await self._guards.limiter.aclose()

    async def __aenter__(self) -> OpenAIGateway:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _ask(
        self, model: str, request: ModelRequest, on_delta: DeltaSink | None
    ) -> tuple[_Answer | _AttemptFailed, int]:
        """One model, retries included: its answer or its last failure, and the attempts made."""
        breaker = self._guards.breakers.get(f"model:{model}@{self._provider}")
        attempt = 0
        while True:
            if not breaker.allow():
                metrics.MODEL_FAILURES.labels(model, "circuit_open").inc()
                return _AttemptFailed("circuit open", _Next.FALL_BACK, retry_in_s=breaker.retry_in()), attempt
            attempt += 1
            try:
                answer = await self._limited_attempt(model, request, on_delta)
            except _AttemptFailed as failure:
                metrics.MODEL_FAILURES.labels(model, failure.next_step.value).inc()
                if failure.next_step in _PROVIDER_TROUBLE:
                    breaker.failure()
                delay = self._retry_delay(failure, attempt)
                if delay is None and failure.next_step is _Next.RETRY and not breaker.closed:
                    # these failures opened the breaker: wait for its probe like every other call
                    return _AttemptFailed(
                        "circuit open", _Next.FALL_BACK, retry_in_s=breaker.retry_in()
                    ), attempt
                if delay is None:
                    return failure, attempt
                logger.info(
                    "retrying model after %s",
                    failure.reason,
                    extra={"model": model, "attempt": attempt, "delay_s": delay},
                )
                await asyncio.sleep(delay)
            else:
                breaker.success()
                return answer, attempt

    async def _limited_attempt(
        self, model: str, request: ModelRequest, on_delta: DeltaSink | None
    ) -> _Answer:
        estimate = _estimate_tokens(request)
        try:
            await self._guards.limiter.acquire(self._provider, estimate)
        except RateLimited as exc:
            raise _AttemptFailed(str(exc), _Next.FALL_BACK) from exc
        answer = await self._attempt(model, request, on_delta)
        used = answer.usage.prompt_tokens + answer.usage.completion_tokens
        await self._guards.limiter.settle(self._provider, estimate, used or estimate)
        return answer

    def _retry_delay(self, failure: _AttemptFailed, attempt: int) -> float | None:
        if failure.next_step is not _Next.RETRY or attempt > self._max_retries:
            return None
        return self._backoff.delay_s(attempt - 1, failure.retry_after_s)

    async def _attempt(self, model: str, request: ModelRequest, on_delta: DeltaSink | None) -> _Answer:
        # `post` with a plain body, not `chat.completions.create`: the typed method deep-copies and
        # transforms every message on each call, which cost more CPU than the rest of a step.
        # The messages are already in the wire format (the port's contract), so nothing is lost.
        # A whole answer comes back as bytes and is read as plain JSON: building the SDK's models
        # for a reply we read five fields of cost a quarter of the call's CPU.
        body: dict[str, object] = {"model": model, "messages": request.messages}
        if request.tools:
            body["tools"] = request.tools
        try:
            if on_delta is None or not self._stream:
                return _answer_from(await self._client.post("/chat/completions", body=body, cast_to=bytes))
            if isinstance(on_delta, RestartableSink):
                await on_delta.restart()
            body |= {"stream": True, "stream_options": {"include_usage": True}}
            # Chunks as plain JSON too (`object`): building the SDK's model of each chunk cost
            # about 0.13 ms, most of what streaming added to a run's CPU.
            stream = await self._client.post(
                "/chat/completions",
                body=body,
                cast_to=ChatCompletion,
                stream=True,
                stream_cls=AsyncStream[object],
            )
        except _SDK_FAILURES as exc:
            raise _classify(exc) from exc
        return await _collect(stream, on_delta)


async def _collect(stream: AsyncStream[object], on_delta: DeltaSink) -> _Answer:
    collected = _StreamedAnswer()
    # Text sent to a sink that can start over does not stop the chain: the retry restarts it.
    restartable = isinstance(on_delta, RestartableSink)
    async with stream:
        while True:
            try:
                chunk = await anext(stream)
            except StopAsyncIteration:
                break
            except _SDK_FAILURES as exc:
                raise _classify(exc).after_text(collected.has_text and not restartable) from exc
            # Outside the try: an error raised by the caller's sink is the caller's, not the model's.
            if text := collected.add(chunk):
                await on_delta(text)
            for name in collected.named():
                if isinstance(on_delta, ToolCallSink):
                    await on_delta.tool_call(name)
    if not collected.finished:
        raise _AttemptFailed("the stream ended without a finish_reason", _Next.RETRY).after_text(
            collected.has_text and not restartable
        )
    return collected.answer()


class _Next(enum.Enum):
    RETRY = "retry"  # transient: retry this model, then fall back
    FALL_BACK = "fall_back"  # this model will not answer: try the next one
    REJECT = "reject"  # the request itself is wrong: no model would take it
    STOP = "stop"  # text already reached the caller: another attempt would repeat it


_PROVIDER_TROUBLE = (_Next.RETRY, _Next.STOP)  # what counts against a breaker; not the request's own faults


class _AttemptFailed(Exception):
    def __init__(
        self,
        reason: str,
        next_step: _Next,
        retry_after_s: float | None = None,
        *,
        retry_in_s: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.next_step = next_step
        self.retry_after_s = retry_after_s
        self.retry_in_s = retry_in_s  # set when the model's breaker is open: when it may let a probe through

    def after_text(self, text_sent: bool) -> _AttemptFailed:
        if not text_sent:
            return self
        return _AttemptFailed(f"stream broke after partial output: {self.reason}", _Next.STOP)


class _CircuitsOpen(Exception):
    def __init__(self, retry_in_s: float, summary: str) -> None:
        super().__init__(summary)
        self.retry_in_s = retry_in_s
        self.summary = summary


@dataclass(frozen=True)
class _Answer:
    content: str | None
    tool_calls: tuple[ToolCall, ...]
    usage: Usage


class _StreamedAnswer:
    """Accumulates one streamed reply; tool-call fragments are joined by their index."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._calls: dict[int, ToolCall] = {}
        self._usage = Usage()
        self._named: list[str] = []  # tools named since the last `named()`
        self.finished = False

    @property
    def has_text(self) -> bool:
        return bool(self._text)

    def add(self, chunk: object) -> str:
        """Take in one chunk (plain JSON, read leniently as the SDK would); return its text delta
        ("" when it has none)."""
        if not isinstance(chunk, dict):
            return ""
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = Usage(_int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")))
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return ""
        self.finished = self.finished or choices[0].get("finish_reason") is not None
        delta = choices[0].get("delta")
        if not isinstance(delta, dict):  # only a lax provider omits it
            return ""
        for part in delta.get("tool_calls") or ():
            if isinstance(part, dict):
                self._add_call(part)
        content = delta.get("content")
        if not isinstance(content, str) or not content:
            return ""
        self._text.append(content)
        return content

    def _add_call(self, part: dict[str, Any]) -> None:
        index = _int(part.get("index"))
        known = self._calls.get(index, ToolCall(id=f"call_{index}", name="", arguments=""))
        function = part.get("function")
        function = function if isinstance(function, dict) else {}
        name, more = function.get("name"), function.get("arguments")
        self._calls[index] = ToolCall(
            id=part["id"] if isinstance(part.get("id"), str) and part["id"] else known.id,
            name=name if isinstance(name, str) and name else known.name,
            arguments=known.arguments + (more if isinstance(more, str) else ""),
        )
        if self._calls[index].name and not known.name:
            self._named.append(self._calls[index].name)

    def named(self) -> list[str]:
        """The tools the reply named since the last call, in order."""
        named, self._named = self._named, []
        return named

    def answer(self) -> _Answer:
        calls = tuple(self._calls[index] for index in sorted(self._calls))
        return _Answer("".join(self._text) if self._text else None, calls, self._usage)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _estimate_tokens(request: ModelRequest) -> int:
    """About four characters a token, plus room for the answer; corrected after the reply."""
    chars = sum(len(str(m.get("content") or "")) for m in request.messages)
    return chars // 4 + 256


def _observe(model: str, answer: _Answer, started: float) -> None:
    metrics.MODEL_SECONDS.labels(model).observe(time.perf_counter() - started)
    metrics.MODEL_TOKENS.labels(model, "prompt").inc(answer.usage.prompt_tokens)
    metrics.MODEL_TOKENS.labels(model, "completion").inc(answer.usage.completion_tokens)


def _answer_from(body: bytes) -> _Answer:
    # Nothing upstream validates the body, so every field is checked here as it is read.
    try:
        completion = json.loads(body)
        message = completion["choices"][0]["message"]
        calls = tuple(
            ToolCall(call["id"], call["function"]["name"], call["function"]["arguments"])
            for call in message.get("tool_calls") or ()
            if call.get("type", "function") == "function"
        )
        content = message.get("content")
        usage = completion.get("usage") or {}
        tokens = Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
    except (ValueError, LookupError, TypeError, AttributeError) as exc:
        raise _classify(exc) from exc  # an unusable response, like any other the SDK could not read
    if content is not None and not isinstance(content, str):
        raise _AttemptFailed("unusable response: content is not text", _Next.FALL_BACK)
    return _Answer(content, calls, tokens)


def _classify(exc: Exception) -> _AttemptFailed:
    if isinstance(exc, openai.APITimeoutError) and not _could_not_connect(exc):
        return _AttemptFailed("timed out", _Next.RETRY)
    if isinstance(exc, openai.APIConnectionError):
        return _AttemptFailed("connection failed", _Next.RETRY)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        reason = f"HTTP {status}: {_error_message(exc)}"
        if status in (408, 409, 429) or status >= 500:
            return _AttemptFailed(reason, _Next.RETRY, _retry_after_s(exc.response.headers))
        if status == 404:
            return _AttemptFailed(reason, _Next.FALL_BACK)
        return _AttemptFailed(reason, _Next.REJECT)
    if isinstance(exc, openai.APIError):  # an error event inside a stream: the server's trouble
        return _AttemptFailed(f"error in stream: {exc.message}"[:300], _Next.RETRY)
    return _AttemptFailed(f"unusable response: {type(exc).__name__}: {exc}"[:300], _Next.FALL_BACK)


def _could_not_connect(exc: BaseException) -> bool:
    """The aiohttp transport reports a refused connection as a connect timeout (of the two
    entries of its error map that match, it keeps the first); the cause tells them apart."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectorError):
            return True
        cause = cause.__cause__
    return False


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return str(body["message"])[:300]
    return exc.message[:300]


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date); None when absent."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        text = headers.get(name)
        if text is not None:
            with contextlib.suppress(ValueError):
                return float(text) * scale
    value = headers.get("retry-after")
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() - time.time() if value else None
    except (TypeError, ValueError):
        return None
