"""`OpenAIGateway` against the scripted model server: replies, streaming, retries, fallback, cost."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from core.errors import ModelError, ModelUnavailable
from core.model.gateway import Backoff, OpenAIGateway
from core.model.port import ModelRequest, Usage
from core.model.pricing import PriceTable
from core.scripted_model import ScriptedModelServer
from core.settings import ModelSettings, Price
from tests.core.conftest import WEATHER_TOOL
from tests.fakes.served import ServedApp

FAST_BACKOFF = Backoff(initial_s=0.01, max_s=0.05)
MakeGateway = Callable[..., OpenAIGateway]


@pytest.fixture
async def make_gateway(scripted_server: ScriptedModelServer) -> AsyncIterator[MakeGateway]:
    made: list[OpenAIGateway] = []

    def make(backoff: Backoff = FAST_BACKOFF, **settings: Any) -> OpenAIGateway:
        fields = {"base_url": scripted_server.base_url, "timeout_s": 5.0, "max_retries": 2, **settings}
        gateway = OpenAIGateway(ModelSettings(**fields), backoff=backoff)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        await gateway.aclose()


def ask(text: str, *models: str, tools: bool = False) -> ModelRequest:
    return ModelRequest(
        models=models or ("scripted",),
        messages=[{"role": "user", "content": text}],
        tools=[WEATHER_TOOL] if tools else [],
        tenant_id="t-1",
    )


async def test_content_reply(make_gateway: MakeGateway, scripted_server: ScriptedModelServer) -> None:
    reply = await make_gateway().complete(ask("hello"))

    assert reply.content == "Hello there! You said: hello"
    assert reply.tool_calls == ()
    assert reply.model == "scripted"
    assert reply.attempts == 1
    assert reply.failures == ()
    assert reply.latency_ms > 0
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    [sent] = scripted_server.requests()
    assert "tools" not in sent
    assert "t-1" not in json.dumps(sent)


async def test_tool_calls(make_gateway: MakeGateway, scripted_server: ScriptedModelServer) -> None:
    reply = await make_gateway().complete(ask("weather in Paris", tools=True))

    [call] = reply.tool_calls
    assert call.name == "get_weather"
    assert call.id.startswith("call_")
    assert json.loads(call.arguments)["city"] == "Paris"
    assert scripted_server.requests()[0]["tools"] == [WEATHER_TOOL]


async def test_streaming_sends_text_deltas(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    deltas: list[str] = []

    async def collect(text: str) -> None:
        deltas.append(text)

    reply = await make_gateway().complete(ask("hello from a streaming test"), on_delta=collect)

    assert len(deltas) > 3
    assert "".join(deltas) == reply.content == "Hello there! You said: hello from a streaming test"
    assert reply.usage.completion_tokens > 0
    [sent] = scripted_server.requests()
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


async def test_streaming_assembles_tool_calls(make_gateway: MakeGateway) -> None:
    deltas: list[str] = []

    async def collect(text: str) -> None:
        deltas.append(text)

    reply = await make_gateway().complete(ask("weather in Oslo", tools=True), on_delta=collect)

    assert "".join(deltas) == reply.content == "Let me check."
    [call] = reply.tool_calls
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Oslo", "days": 1, "note": "asked: weather in Oslo"}


async def test_usage_and_cost_with_a_price_override(make_gateway: MakeGateway) -> None:
    gateway = make_gateway(prices={"house-model": Price(prompt=3.0, completion=15.0)})

    priced = await gateway.complete(ask("hello", "house-model"))
    free = await gateway.complete(ask("hello", "scripted"))

    expected = (priced.usage.prompt_tokens * 3.0 + priced.usage.completion_tokens * 15.0) / 1_000_000
    assert priced.cost_usd == pytest.approx(expected)
    assert priced.cost_usd > 0
    assert free.cost_usd == 0.0


def test_price_table() -> None:
    prices = PriceTable.with_overrides({"gpt-4o": Price(prompt=1.0, completion=2.0)})
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=500_000)

    assert prices.cost_usd("gpt-4o", usage) == pytest.approx(2.0)
    assert prices.cost_usd("gpt-4o-2024-08-06", usage) == pytest.approx(2.0)
    assert prices.cost_usd("gpt-4o-mini", usage) == pytest.approx(0.15 + 0.30)
    assert prices.cost_usd("someone-elses-model", usage) == 0.0


async def test_rate_limit_waits_for_retry_after(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(status=429, retry_after=0.3)
    # A slow backoff would mask whether Retry-After was used, a zero one would hide it was skipped.
    gateway = make_gateway(backoff=Backoff(initial_s=0.0, max_s=0.0))

    started = time.perf_counter()
    reply = await gateway.complete(ask("hello"))

    assert time.perf_counter() - started >= 0.25
    assert reply.attempts == 2
    assert reply.content is not None
    assert reply.failures == ()


async def test_server_errors_are_retried(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(status=500, count=2)

    reply = await make_gateway(max_retries=2).complete(ask("hello"))

    assert reply.attempts == 3
    assert reply.model == "scripted"
    assert len(scripted_server.requests()) == 3


async def test_streaming_is_retried_too(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(status=503)
    deltas: list[str] = []

    async def collect(text: str) -> None:
        deltas.append(text)

    reply = await make_gateway().complete(ask("hello"), on_delta=collect)

    assert reply.attempts == 2
    assert "".join(deltas) == reply.content


async def test_hang_times_out_and_falls_back(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(hang_s=30, count=5, model="primary")

    reply = await make_gateway(timeout_s=0.3, max_retries=1).complete(ask("hello", "primary", "backup"))

    assert reply.model == "backup"
    assert reply.content == "Hello there! You said: hello"
    assert reply.attempts == 3
    assert reply.failures == ("primary: timed out (2 attempts)",)
    assert [body["model"] for body in scripted_server.requests()] == ["primary", "primary", "backup"]


async def test_missing_model_falls_back_without_retrying(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(status=404, count=5, model="retired")

    reply = await make_gateway().complete(ask("hello", "retired", "current"))

    assert reply.model == "current"
    assert reply.attempts == 2
    assert reply.failures[0].startswith("retired: HTTP 404")


async def test_a_retry_after_too_long_to_wait_falls_back(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(status=429, retry_after=30, model="busy")
    gateway = make_gateway(backoff=Backoff(max_retry_after_s=1.0))

    started = time.perf_counter()
    reply = await gateway.complete(ask("hello", "busy", "idle"))

    assert time.perf_counter() - started < 1.0
    assert reply.model == "idle"


async def test_a_garbled_body_falls_back(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(truncate=True, model="garbled")

    reply = await make_gateway().complete(ask("hello", "garbled", "clean"))

    assert reply.model == "clean"
    assert reply.failures[0].startswith("garbled: unusable response")


async def test_a_stream_cut_before_any_text_is_retried(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(truncate=True)
    deltas: list[str] = []

    async def collect(text: str) -> None:
        deltas.append(text)

    reply = await make_gateway().complete(ask("look up Lima", tools=True), on_delta=collect)

    assert reply.attempts == 2
    assert deltas == []
    assert [(call.name, json.loads(call.arguments)) for call in reply.tool_calls] == [
        ("get_weather", {"city": "Lima"})
    ]


async def test_a_stream_cut_after_text_is_not_repeated(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(truncate=True)
    deltas: list[str] = []

    async def collect(text: str) -> None:
        deltas.append(text)

    with pytest.raises(ModelUnavailable, match="stopped mid-answer.*ended without a finish_reason"):
        await make_gateway().complete(ask("hello there, this reply gets cut", "one", "two"), on_delta=collect)

    assert deltas and "".join(deltas) != "Hello there! You said: hello there, this reply gets cut"
    assert len(scripted_server.requests()) == 1


async def test_an_error_from_the_delta_sink_is_the_callers(make_gateway: MakeGateway) -> None:
    async def refuse(text: str) -> None:
        raise RuntimeError("sink closed")

    with pytest.raises(RuntimeError, match="sink closed"):
        await make_gateway().complete(ask("hello"), on_delta=refuse)


async def test_all_models_failing_is_model_unavailable(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(status=503, count=10)

    with pytest.raises(ModelUnavailable) as caught:
        await make_gateway(max_retries=1).complete(ask("hello", "first", "second"))

    message = caught.value.message
    assert "first: HTTP 503" in message and "second: HTTP 503" in message
    assert "(2 attempts)" in message
    assert caught.value.code == "model_unavailable"
    assert len(scripted_server.requests()) == 4


async def test_a_bad_request_is_neither_retried_nor_passed_on(
    make_gateway: MakeGateway, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(status=400, count=5)

    with pytest.raises(ModelError) as caught:
        await make_gateway().complete(ask("hello", "first", "second"))

    assert not isinstance(caught.value, ModelUnavailable)
    assert "first: HTTP 400: injected fault" in caught.value.message
    assert len(scripted_server.requests()) == 1


async def test_an_unreachable_endpoint_is_model_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = ModelSettings(base_url=f"http://127.0.0.1:{closed_port}/v1", max_retries=1)

    async with OpenAIGateway(settings, backoff=FAST_BACKOFF) as gateway:
        with pytest.raises(ModelUnavailable, match="scripted: connection failed"):
            await gateway.complete(ask("hello"))


async def test_a_request_without_models_is_refused(make_gateway: MakeGateway) -> None:
    with pytest.raises(ModelError):
        await make_gateway().complete(ModelRequest(models=(), messages=[{"role": "user", "content": "hi"}]))


GOOD = {"choices": [{"message": {"content": "fine"}}], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}


@pytest.fixture
def shaped_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A bare HTTP stand-in answering each model with the body the test sets for it (200, JSON)."""
    bodies: dict[str, bytes] = {}

    async def complete(request: web.Request) -> web.Response:
        model = (await request.json())["model"]
        body = bodies.get(model, json.dumps(GOOD).encode())
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", complete)
    served = ServedApp(app, "shaped-model")
    served.start()
    yield f"http://127.0.0.1:{served.port}/v1", bodies
    served.stop()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"choices": []},
        {"choices": [{}]},
        {"choices": [{"message": {"content": 5}}]},
        {"choices": [{"message": {"content": None, "tool_calls": [{"id": "c1", "type": "function"}]}}]},
        {"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": "many"}},
        [1, 2],
    ],
    ids=[
        "empty",
        "no-choices",
        "no-message",
        "content-not-text",
        "call-without-function",
        "bad-usage",
        "list",
    ],
)
async def test_a_body_of_the_wrong_shape_falls_back(
    shaped_server: tuple[str, dict[str, bytes]], body: object
) -> None:
    url, bodies = shaped_server
    bodies["odd"] = json.dumps(body).encode()
    gateway = OpenAIGateway(ModelSettings(base_url=url, timeout_s=5.0, max_retries=0))
    try:
        reply = await gateway.complete(ask("hello", "odd", "clean"))
    finally:
        await gateway.aclose()

    assert (reply.model, reply.content) == ("clean", "fine")
    assert reply.failures[0].startswith("odd: unusable response")


async def test_tool_calls_and_usage_are_read_from_a_plain_body(
    shaped_server: tuple[str, dict[str, bytes]],
) -> None:
    url, bodies = shaped_server
    call = {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"order_id": "5"}'}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    bodies["tools"] = json.dumps(
        {"choices": [{"message": message}], "usage": {"prompt_tokens": 7, "completion_tokens": 2}}
    ).encode()
    gateway = OpenAIGateway(ModelSettings(base_url=url, timeout_s=5.0, max_retries=0))
    try:
        reply = await gateway.complete(ask("hello", "tools"))
    finally:
        await gateway.aclose()

    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [("c1", "lookup", '{"order_id": "5"}')]
    assert reply.usage == Usage(7, 2)
