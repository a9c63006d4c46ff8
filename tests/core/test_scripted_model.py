"""The scripted model server, driven over HTTP by the real `openai` client."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from core.errors import InvalidInput
from core.scripted_model import DEFAULT_REPLY, Script, ScriptedModelServer
from core.scripted_model.api import UNKNOWN_TOOL
from core.scripted_model.template import render
from tests.core.conftest import WEATHER_TOOL


@pytest.fixture
async def client(scripted_server: ScriptedModelServer) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=scripted_server.base_url, api_key="sk-test", max_retries=0) as client:
        yield client


@pytest.fixture
async def control(scripted_server: ScriptedModelServer) -> AsyncIterator[httpx.AsyncClient]:
    base = scripted_server.base_url.removesuffix("/v1")
    async with httpx.AsyncClient(base_url=base) as http:
        yield http


def user(text: str) -> Any:  # Any: the SDK wants its TypedDicts, tests write plain dicts
    return [{"role": "user", "content": text}]


def after_weather(result: dict[str, Any], tool_name: str = "get_weather") -> Any:
    call = {"id": "call_9", "type": "function", "function": {"name": tool_name, "arguments": "{}"}}
    return [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_9", "content": json.dumps(result)},
    ]


# Replies


async def test_plain_content_echoes_the_model_and_counts_usage(client: AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(model="any-model-at-all", messages=user("hello, bot"))

    choice = reply.choices[0]
    assert choice.message.content == "Hello there! You said: hello, bot"
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    assert reply.model == "any-model-at-all"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == 3  # ceil(len("hello, bot") / 4)
    assert reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


async def test_the_default_reply_answers_what_no_rule_matches(client: AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(model="scripted", messages=user("quantum knitting?"))

    assert reply.choices[0].message.content == DEFAULT_REPLY


async def test_matching_is_on_the_last_user_message_and_case_insensitive(client: AsyncOpenAI) -> None:
    messages = [*user("HELLO"), {"role": "assistant", "content": "Hi."}, *user("and now?")]

    reply = await client.chat.completions.create(model="scripted", messages=messages)

    assert reply.choices[0].message.content == DEFAULT_REPLY
    again = await client.chat.completions.create(model="scripted", messages=user("GREETINGS"))
    assert again.choices[0].message.content == "Hello there! You said: GREETINGS"


async def test_system_matcher(client: AsyncOpenAI) -> None:
    messages = [{"role": "system", "content": "Talk like a pirate."}, *user("hi")]

    reply = await client.chat.completions.create(model="scripted", messages=messages)

    assert reply.choices[0].message.content == "Arr!"


async def test_tool_call_with_templated_arguments(client: AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(
        model="scripted", messages=user("What's the weather in Paris?"), tools=[WEATHER_TOOL]
    )

    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check."
    [call] = choice.message.tool_calls or []
    assert isinstance(call, openai.types.chat.ChatCompletionMessageFunctionToolCall)
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {
        "city": "Paris",
        "days": 1,
        "note": "asked: What's the weather in Paris?",
    }


async def test_tool_result_fills_the_template(client: AsyncOpenAI) -> None:
    messages = after_weather({"city": "Paris", "temp_c": 21})

    reply = await client.chat.completions.create(model="scripted", messages=messages, tools=[WEATHER_TOOL])

    # The weather lookup rule comes first but a tool result now follows the user message.
    assert reply.choices[0].message.content == "It is 21 °C in Paris."
    assert reply.choices[0].finish_reason == "stop"


async def test_after_tool_names_the_tool_that_was_called(client: AsyncOpenAI) -> None:
    messages = after_weather({"city": "Paris", "temp_c": 21}, tool_name="get_stock_price")

    reply = await client.chat.completions.create(model="scripted", messages=messages)

    assert reply.choices[0].message.content == DEFAULT_REPLY


async def test_a_missing_template_key_is_marked_not_fatal(client: AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(model="scripted", messages=user("broken template"))

    assert reply.choices[0].message.content == "[template error: no key 'nope'] Value: {result[nope]}"


async def test_rule_latency(client: AsyncOpenAI) -> None:
    started = time.perf_counter()
    reply = await client.chat.completions.create(model="scripted", messages=user("slow please"))

    assert time.perf_counter() - started >= 0.14
    assert reply.choices[0].message.content == "Sorry for the wait."


# Streaming


async def test_streamed_content_arrives_in_pieces(client: AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="scripted", messages=user("hello there, streaming world"), stream=True
    )
    chunks = [chunk async for chunk in stream]

    assert all(chunk.object == "chat.completion.chunk" and chunk.model == "scripted" for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 3
    assert "".join(pieces) == "Hello there! You said: hello there, streaming world"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in chunks)


async def test_streamed_tool_call_with_usage(client: AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="scripted",
        messages=user("weather in Oslo"),
        tools=[WEATHER_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    deltas = [part for c in chunks if c.choices for part in c.choices[0].delta.tool_calls or ()]
    assert {part.index for part in deltas} == {0}
    assert deltas[0].id is not None and deltas[0].id.startswith("call_")
    assert deltas[0].function is not None and deltas[0].function.name == "get_weather"
    assert len(deltas) > 2  # the arguments arrive in fragments
    arguments = "".join(part.function.arguments or "" for part in deltas if part.function)
    assert json.loads(arguments)["city"] == "Oslo"
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


# Faults


async def test_rate_limit_fault_with_retry_after_is_consumed_per_request(
    client: AsyncOpenAI, control: httpx.AsyncClient
) -> None:
    response = await control.post("/_control/faults", json={"status": 429, "retry_after": 0.2, "count": 2})
    assert response.status_code == 200
    assert response.json()["pending"] == 2

    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="scripted", messages=user("hello"))
        assert caught.value.response.headers["retry-after"] == "0.2"
    reply = await client.chat.completions.create(model="scripted", messages=user("hello"))
    assert reply.choices[0].message.content is not None


async def test_faults_queue_in_order(client: AsyncOpenAI, control: httpx.AsyncClient) -> None:
    await control.post("/_control/faults", json={"status": 500, "count": 2})
    await control.post("/_control/faults", json={"status": 503})

    statuses = []
    for _ in range(4):
        try:
            await client.chat.completions.create(model="scripted", messages=user("hello"))
            statuses.append(200)
        except openai.APIStatusError as exc:
            statuses.append(exc.status_code)

    assert statuses == [500, 500, 503, 200]


async def test_a_fault_for_one_model_spares_the_others(
    client: AsyncOpenAI, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(status=404, model="gone-model")

    reply = await client.chat.completions.create(model="other-model", messages=user("hello"))
    with pytest.raises(openai.NotFoundError):
        await client.chat.completions.create(model="gone-model", messages=user("hello"))

    assert reply.model == "other-model"
    assert scripted_server.faults.pending == 0


async def test_hang_outlasts_the_client_timeout(client: AsyncOpenAI, control: httpx.AsyncClient) -> None:
    await control.post("/_control/faults", json={"hang_s": 30, "count": 1})

    started = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="scripted", messages=user("hello"), timeout=0.3)
    reply = await client.chat.completions.create(model="scripted", messages=user("hello"))

    assert time.perf_counter() - started < 5
    assert reply.choices[0].message.content is not None


async def test_persistent_latency_until_reset(client: AsyncOpenAI, control: httpx.AsyncClient) -> None:
    await control.post("/_control/faults", json={"latency_ms": 200})

    for _ in range(2):
        started = time.perf_counter()
        await client.chat.completions.create(model="scripted", messages=user("hello"))
        assert time.perf_counter() - started >= 0.19
    await control.post("/_control/reset")
    started = time.perf_counter()
    await client.chat.completions.create(model="scripted", messages=user("hello"))
    assert time.perf_counter() - started < 0.19


@pytest.mark.parametrize("stream", [False, True])
async def test_malformed_arguments(client: AsyncOpenAI, control: httpx.AsyncClient, stream: bool) -> None:
    await control.post("/_control/faults", json={"malformed": "arguments", "count": 1})

    arguments = await tool_call_arguments(client, stream)
    again = await tool_call_arguments(client, stream)

    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)
    assert json.loads(again)["city"] == "Lima"


async def test_malformed_arguments_on_a_reply_without_tool_calls(
    client: AsyncOpenAI, scripted_server: ScriptedModelServer
) -> None:
    scripted_server.inject(malformed="arguments")

    reply = await client.chat.completions.create(
        model="scripted", messages=user("hello"), tools=[WEATHER_TOOL]
    )

    [call] = reply.choices[0].message.tool_calls or []
    assert isinstance(call, openai.types.chat.ChatCompletionMessageFunctionToolCall)
    assert call.function.name == "get_weather"
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.function.arguments)


async def test_unknown_tool(client: AsyncOpenAI, control: httpx.AsyncClient) -> None:
    await control.post("/_control/faults", json={"unknown_tool": True, "count": 1})

    reply = await client.chat.completions.create(
        model="scripted", messages=user("weather in Lima"), tools=[WEATHER_TOOL]
    )

    [call] = reply.choices[0].message.tool_calls or []
    assert isinstance(call, openai.types.chat.ChatCompletionMessageFunctionToolCall)
    assert call.function.name == UNKNOWN_TOOL
    assert reply.choices[0].finish_reason == "tool_calls"


async def test_truncated_replies(client: AsyncOpenAI, control: httpx.AsyncClient) -> None:
    await control.post("/_control/faults", json={"truncate": True, "count": 2})

    stream = await client.chat.completions.create(model="scripted", messages=user("hello there"), stream=True)
    chunks = [chunk async for chunk in stream]
    cut = await control.post("/v1/chat/completions", json={"model": "scripted", "messages": user("hello")})

    assert chunks and all(chunk.choices[0].finish_reason is None for chunk in chunks)
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.text)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": 200},
        {"retry_after": 1},
        {"malformed": "content"},
        {"status": 500, "count": 0},
        {"x": 1},
    ],
)
async def test_invalid_faults_are_refused(control: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await control.post("/_control/faults", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("invalid fault")


# Models and recorded traffic


async def test_models_lists_the_script_models(client: AsyncOpenAI) -> None:
    page = await client.models.list()

    assert [model.id for model in page.data] == ["scripted", "scripted-backup"]


async def test_requests_are_recorded_and_reset(client: AsyncOpenAI, control: httpx.AsyncClient) -> None:
    await client.chat.completions.create(model="first", messages=user("hello"))
    await client.chat.completions.create(
        model="second", messages=user("weather in Rome"), tools=[WEATHER_TOOL]
    )

    recorded = (await control.get("/_control/requests")).json()["requests"]

    assert [body["model"] for body in recorded] == ["first", "second"]
    assert recorded[1]["tools"] == [WEATHER_TOOL]
    assert recorded[1]["messages"] == user("weather in Rome")
    await control.post("/_control/reset")
    assert (await control.get("/_control/requests")).json()["requests"] == []


async def test_a_bad_request_is_a_400(control: httpx.AsyncClient) -> None:
    response = await control.post("/v1/chat/completions", json={"model": "scripted", "messages": []})

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


# Scripts as data


def test_script_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(
        "default: Say again?\n"
        "rules:\n"
        "  - when: {user: 'ticket (\\d+)'}\n"
        "    reply: {tool_calls: [{name: get_ticket, arguments: {id: '{user_match[1]}'}}]}\n"
    )

    script = Script.from_yaml(path)

    answer = script.respond(user("Ticket 42 please"))
    assert answer.content is None
    assert [(call.name, json.loads(call.arguments)) for call in answer.tool_calls] == [
        ("get_ticket", {"id": "42"})
    ]
    assert script.respond(user("nothing")).content == "Say again?"


def test_single_field_arguments_keep_their_type() -> None:
    script = Script.from_dict(
        {
            "rules": [
                {
                    "when": {"after_tool": "find"},
                    "reply": {"tool_calls": [{"name": "open", "arguments": {"ids": "{result[ids]}"}}]},
                }
            ]
        }
    )
    call = {"id": "c1", "type": "function", "function": {"name": "find", "arguments": "{}"}}
    messages = [
        *user("go"),
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"ids": [1, 2]}'},
    ]

    [opened] = script.respond(messages).tool_calls

    assert json.loads(opened.arguments) == {"ids": [1, 2]}


@pytest.mark.parametrize(
    "data",
    [
        {"rules": [{"when": {"user": "("}, "reply": "x"}]},
        {"rules": [{"when": {"usr": "typo"}, "reply": "x"}]},
        {"rules": [{"reply": {}}]},
        {"rules": "not a list"},
    ],
)
def test_invalid_scripts_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        Script.from_dict(data)


def test_templates_refuse_attribute_access() -> None:
    rendered = render("{last_user.__class__}", {"last_user": "hi"})

    assert rendered.startswith("[template error: only name[key] fields are allowed")


# Lifecycle


def test_starts_and_stops_cleanly_many_times(scripted_model_script: Script) -> None:
    threads_before = threading.active_count()
    server = ScriptedModelServer(scripted_model_script)
    ports = set()
    for _ in range(5):
        with server:
            ports.add(server.port)
            response = httpx.get(f"{server.base_url}/models")
            assert response.status_code == 200
    assert threading.active_count() == threads_before
    with pytest.raises(RuntimeError):
        server.base_url  # noqa: B018


async def test_stopping_ends_a_hang_at_once(scripted_model_script: Script) -> None:
    async with ScriptedModelServer(scripted_model_script) as server:
        server.inject(hang_s=30)
        async with AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
            pending = client.chat.completions.create(model="scripted", messages=user("hello"), timeout=10)
            task = asyncio.ensure_future(pending)
            while not server.requests():
                await asyncio.sleep(0.01)
            started = time.perf_counter()
            await asyncio.to_thread(server.stop)
            assert time.perf_counter() - started < 1.0
            reply = await task
            assert reply.choices[0].message.content is not None


def test_module_entry_point_serves_until_terminated(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text("rules:\n  - when: {user: ping}\n    reply: pong\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "core.scripted_model", "--script", str(script), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    with process.stdout:
        try:
            base_url = process.stdout.readline().split(" on ")[-1].strip()
            body = {"model": "scripted", "messages": user("ping")}
            reply = httpx.post(f"{base_url}/chat/completions", json=body).json()
            assert reply["choices"][0]["message"]["content"] == "pong"
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=5) == 0


async def tool_call_arguments(client: AsyncOpenAI, stream: bool) -> str:
    messages = user("weather in Lima")
    if not stream:
        reply = await client.chat.completions.create(
            model="scripted", messages=messages, tools=[WEATHER_TOOL]
        )
        [call] = reply.choices[0].message.tool_calls or []
        assert isinstance(call, openai.types.chat.ChatCompletionMessageFunctionToolCall)
        return call.function.arguments
    chunks = await client.chat.completions.create(
        model="scripted", messages=messages, tools=[WEATHER_TOOL], stream=True
    )
    parts = [
        part async for chunk in chunks if chunk.choices for part in chunk.choices[0].delta.tool_calls or ()
    ]
    return "".join(part.function.arguments or "" for part in parts if part.function)
