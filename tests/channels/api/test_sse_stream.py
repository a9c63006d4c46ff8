"""Token streaming end to end over real protocols: the scripted model streams over HTTP with a
pause between chunks, the gateway reads it, the worker publishes its deltas, and an SSE client of
the API under uvicorn assembles them. The assembled text must equal the committed answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from core.model.gateway import Backoff, OpenAIGateway
from core.scripted_model import Script, ScriptedModelServer
from core.settings import ModelSettings
from core.store.context import ContextStore
from tests.channels.api.conftest import FAST_STREAM, Keys, api_app, auth, make_keys, serve
from tests.channels.api.test_api import Json, sse
from tests.conftest import TenantFixture
from tests.core.engine.harness import Engine, engine

ANSWER = " ".join(f"word{i}" for i in range(40)) + " and that is the whole answer."


@dataclass
class Live:
    server: ScriptedModelServer
    engine: Engine
    client: httpx.AsyncClient
    keys: Keys

    async def submit(self, message: str = "tell me") -> str:
        response = await self.client.post(
            "/v1/runs", json={"bot": "support", "message": message}, headers=auth(self.keys.member)
        )
        assert response.status_code == 202, response.text
        run_id: str = response.json()["id"]
        return run_id


@pytest.fixture(scope="module")
def streaming_server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(Script(default=ANSWER), token_latency_ms=15) as server:
        yield server


def gateway(server: ScriptedModelServer, *, stream: bool = True, timeout_s: float = 10) -> OpenAIGateway:
    settings = ModelSettings(
        base_url=server.base_url,
        api_key=SecretStr("sk-test"),
        timeout_s=timeout_s,
        max_retries=2,
        stream=stream,
    )
    return OpenAIGateway(settings, backoff=Backoff(initial_s=0.01, max_s=0.05))


@pytest.fixture
async def live(
    streaming_server: ScriptedModelServer, store: ContextStore, tenant: TenantFixture
) -> AsyncIterator[Live]:
    streaming_server.reset()
    keys = await make_keys(store, tenant)
    async with gateway(streaming_server, timeout_s=1.0) as model, engine(store, model) as e:
        app = api_app(e.runtime, store, stream=FAST_STREAM)
        async with serve(app) as client:
            yield Live(streaming_server, e, client, keys)


class Assembly:
    """What a client shows: deltas put together by (step, offset), replaced by committed text."""

    def __init__(self) -> None:
        self.step = 0
        self.text = ""
        self.deltas = 0
        self.restarts = 0
        self.answers: list[str] = []
        self.events: list[str] = []  # durable events' types, and "tool:<name>" for a tool delta

    def take(self, message: Json) -> None:
        if message.get("event") == "delta":
            assert "id" not in message, "a delta is transient: it has no id"
            data: dict[str, Any] = message["data"]
            if "tool" in data:
                self.events.append(f"tool:{data['tool']}")
                return
            if data["step"] != self.step or data["offset"] == 0:
                self.restarts += int(data["step"] == self.step and bool(self.text))
                self.step, self.text = data["step"], ""
            assert data["offset"] <= len(self.text), "no gap in a step's text"
            self.text = self.text[: data["offset"]] + data["text"]
            self.deltas += 1
        elif "event" in message:
            self.events.append(message["event"])
            if message["event"] == "RunCompleted":
                self.answers.append(message["data"]["payload"]["answer"])


async def follow(
    live: Live, run_id: str, *, headers: dict[str, str] | None = None, stop_after_deltas: int | None = None
) -> Assembly:
    seen = Assembly()
    async with (
        asyncio.timeout(20),
        live.client.stream(
            "GET", f"/v1/runs/{run_id}/events", headers={**auth(live.keys.member), **(headers or {})}
        ) as response,
    ):
        assert response.status_code == 200
        async for message in sse(response):
            seen.take(message)
            if stop_after_deltas is not None and seen.deltas >= stop_after_deltas:
                break
    return seen


async def test_the_text_an_sse_client_assembles_is_the_committed_answer(live: Live) -> None:
    run_id = await live.submit()
    seen = await follow(live, run_id)
    assert seen.answers == [ANSWER]
    assert seen.deltas > 10, "the answer arrived in pieces, as it was generated"
    assert seen.text == ANSWER
    assert seen.events.count("ModelResponded") == 1 and seen.events[-1] == "RunCompleted"
    [sent] = live.server.requests()
    assert sent["stream"] is True


async def test_a_client_leaving_mid_stream_harms_nothing(live: Live) -> None:
    run_id = await live.submit()
    partial = await follow(live, run_id, stop_after_deltas=3)
    assert 0 < len(partial.text) < len(ANSWER)
    await live.engine.settle()
    notifier = live.engine.runtime.notifier
    async with asyncio.timeout(5):
        while notifier.watched(run_id):  # the server saw the client go and dropped its feed
            await asyncio.sleep(0.02)
    again = await follow(live, run_id)
    assert again.answers == [ANSWER] and again.deltas == 0  # closed: the durable history only


async def test_a_reconnecting_client_gets_history_then_the_text_so_far_then_the_tail(live: Live) -> None:
    run_id = await live.submit()
    first = await follow(live, run_id, stop_after_deltas=5)
    last_id = "2"  # RunCreated, RunStarted: what an EventSource would send back
    again = await follow(live, run_id, headers={"Last-Event-ID": last_id})
    assert first.text and ANSWER.startswith(first.text)
    assert again.events[0] == "ModelCalled" and again.answers == [ANSWER]
    assert again.text == ANSWER  # the catch-up delta (offset 0) plus the live tail


@pytest.mark.parametrize("fault", [{"truncate": True}, {"stall_s": 3.0}], ids=["drop", "stall"])
async def test_a_stream_that_breaks_mid_answer_is_retried_and_the_client_starts_over(
    live: Live, fault: dict[str, Any]
) -> None:
    live.server.inject(**fault)
    run_id = await live.submit()
    seen = await follow(live, run_id)
    assert seen.answers == [ANSWER]
    assert seen.restarts == 1, "the retried call streamed from offset 0 and the client started over"
    assert seen.text == ANSWER
    assert seen.events.count("ModelResponded") == 1 and seen.events.count("RunCompleted") == 1
    assert len(live.server.requests()) == 2


async def test_malformed_tool_call_deltas_reach_the_model_as_an_error_not_a_crash(live: Live) -> None:
    live.server.inject(malformed="arguments")  # tool-call arguments streamed in pieces that never parse
    run_id = await live.submit()
    seen = await follow(live, run_id)
    assert "ToolCallRejected" in seen.events
    # The status could name the tool as soon as the model did, before the step committed.
    [tool] = [e for e in seen.events if e.startswith("tool:")]
    assert seen.events.index(tool) < seen.events.index("ModelResponded")
    assert seen.answers == [ANSWER]  # the model was told and answered on the next step
    assert seen.text == ANSWER


async def test_an_endpoint_set_not_to_stream_answers_whole(
    streaming_server: ScriptedModelServer, store: ContextStore, tenant: TenantFixture
) -> None:
    streaming_server.reset()
    keys = await make_keys(store, tenant)
    async with (
        gateway(streaming_server, stream=False) as model,
        engine(store, model) as e,
        serve(api_app(e.runtime, store, stream=FAST_STREAM)) as client,
    ):
        live = Live(streaming_server, e, client, keys)
        seen = await follow(live, await live.submit())
    assert seen.answers == [ANSWER] and seen.deltas == 0
    assert "stream" not in streaming_server.requests()[0]
