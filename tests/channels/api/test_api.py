"""The REST API end to end on a real store (SQLite and PostgreSQL) and a real engine."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from bots.support import bot as support_bot
from channels.api import StreamOptions
from channels.api.errors import public_error
from core.bots import BotRegistry
from core.engine.notifier import RunNotifier
from core.errors import (
    Conflict,
    Forbidden,
    IdempotencyConflict,
    IllegalTransition,
    MisuseError,
    ModelUnavailable,
    StaleLease,
    SwitchboardError,
)
from core.lifecycle import RunStatus
from core.queue.inprocess import InProcessQueue
from core.runtime import Runtime
from core.store.context import ContextStore
from tests.channels.api.conftest import Api, api_app, auth, serve

Json = dict[str, Any]
DONE = {"completed", "failed", "cancelled"}
GREETING_EVENTS = ["RunCreated", "RunStarted", "ModelCalled", "ModelResponded", "RunCompleted"]


async def poll(api: Api, key: str, run_id: str, until: set[str] = DONE, timeout: float = 10) -> Json:
    async with asyncio.timeout(timeout):
        while True:
            response = await api.client.get(f"/v1/runs/{run_id}", headers=auth(key))
            assert response.status_code == 200, response.text
            view: Json = response.json()
            if view["status"] in until:
                return view
            await asyncio.sleep(0.02)


async def sse(response: httpx.Response) -> AsyncIterator[Json]:
    """Parse an SSE body into messages: {"id", "event", "data"} or {"comment"}."""
    message: Json = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield {"comment": line[1:].strip()}
        elif line:
            name, _, value = line.partition(":")
            message[name] = value.removeprefix(" ")
        elif message:
            if "data" in message:
                message["data"] = json.loads(message["data"])
            yield message
            message = {}


async def read_all(response: httpx.Response) -> list[Json]:
    return [m async for m in sse(response) if "comment" not in m]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code, response.text
    assert response.json()["error"]["message"]


# --- submitting and reading runs -------------------------------------------------------------


async def test_submit_then_poll_to_completion(api: Api) -> None:
    response = await api.client.post(
        "/v1/runs", json={"bot": "support", "message": "hi", "session": None}, headers=auth(api.keys.member)
    )
    assert response.status_code == 202
    created = response.json()
    assert created["created"] is True and created["bot"] == "support"
    assert created["status"] in ("queued", "running") and created["user_id"] == api.tenant.member.user_id
    assert created["links"] == {
        "self": f"/v1/runs/{created['id']}",
        "events": f"/v1/runs/{created['id']}/events",
    }
    assert response.headers["location"] == created["links"]["self"]

    view = await poll(api, api.keys.member, created["id"])
    assert view["status"] == "completed" and view["answer"] == "hello from support" and view["error"] is None
    assert view["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "cost_usd": pytest.approx(0.001)}
    assert view["step"] >= 1 and view["session_id"] == created["session_id"]
    assert "created" not in view
    for stamp in ("created_at", "updated_at"):
        assert view[stamp].endswith("Z") and datetime.fromisoformat(view[stamp]).utcoffset() == timedelta(0)


async def test_same_session_key_continues_one_conversation(api: Api) -> None:
    first = await api.submit(api.keys.member, session="thread-1")
    second = await api.submit(api.keys.member, session="thread-1")
    fresh = await api.submit(api.keys.member)
    theirs = await api.submit(api.keys.other_member, session="thread-1")
    assert first["session_id"] == second["session_id"]
    assert fresh["session_id"] != first["session_id"]
    assert theirs["session_id"] != first["session_id"]  # a session key is private to its user


async def test_idempotency_key_returns_the_same_run_and_refuses_another_body(api: Api) -> None:
    body = {"bot": "support", "message": "hi", "session": "s1"}
    headers = {**auth(api.keys.member), "Idempotency-Key": "order-77"}
    first = await api.client.post("/v1/runs", json=body, headers=headers)
    again = await api.client.post("/v1/runs", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["created"] is True and "idempotent-replayed" not in first.headers
    assert again.json()["created"] is False and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]

    changed = await api.client.post("/v1/runs", json={**body, "message": "something else"}, headers=headers)
    assert_error(changed, 409, "idempotency_conflict")

    # The key is the caller's own: a colleague sending the same key and body gets their own run.
    theirs = await api.client.post(
        "/v1/runs", json=body, headers={**auth(api.keys.other_member), "Idempotency-Key": "order-77"}
    )
    assert theirs.status_code == 202 and theirs.json()["created"] is True
    assert theirs.json()["id"] != first.json()["id"]

    bad = await api.client.post(
        "/v1/runs", json=body, headers={**auth(api.keys.member), "Idempotency-Key": "x" * 129}
    )
    assert_error(bad, 422, "invalid_input")


async def test_list_shows_members_their_own_runs_and_admins_all(api: Api) -> None:
    mine = await api.submit(api.keys.member)
    theirs = await api.submit(api.keys.other_member)
    await poll(api, api.keys.member, mine["id"])
    await poll(api, api.keys.other_member, theirs["id"])

    async def ids(key: str, query: str = "") -> list[str]:
        response = await api.client.get(f"/v1/runs{query}", headers=auth(key))
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["runs"]]

    assert await ids(api.keys.member) == [mine["id"]]
    assert await ids(api.keys.admin) == [theirs["id"], mine["id"]]
    assert await ids(api.keys.admin, "?limit=1") == [theirs["id"]]
    assert await ids(api.keys.admin, "?status=completed&bot=support") == [theirs["id"], mine["id"]]
    assert await ids(api.keys.admin, "?status=failed") == []
    assert await ids(api.keys.stranger) == []
    for query in ("?limit=201", "?limit=0", "?limit=many", "?status=sleeping"):
        assert_error(
            await api.client.get(f"/v1/runs{query}", headers=auth(api.keys.admin)), 422, "invalid_input"
        )


# --- events ----------------------------------------------------------------------------------


async def test_event_stream_follows_a_live_run_and_closes_after_its_last_event(api: Api) -> None:
    api.model.gate.clear()
    run = await api.submit(api.keys.member)
    async with serve(api.app) as client, asyncio.timeout(10):
        received: list[Json] = []
        async with client.stream(
            "GET", f"/v1/runs/{run['id']}/events", headers=auth(api.keys.member)
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            async for message in sse(response):
                if message.get("event") == "delta":  # the model's text, transient (test_sse_stream.py)
                    continue
                received.append(message)
                if message.get("event") == "RunStarted":
                    # Streamed while the run is held inside its model call.
                    assert (await poll(api, api.keys.member, run["id"], {"running"}))["status"] == "running"
                    api.model.gate.set()
    assert [m["event"] for m in received] == GREETING_EVENTS
    assert [int(m["id"]) for m in received] == list(range(1, len(GREETING_EVENTS) + 1))
    assert all(m["data"]["seq"] == int(m["id"]) and m["data"]["type"] == m["event"] for m in received)
    assert received[-1]["data"]["payload"] and received[0]["data"]["created_at"].endswith("Z")


async def test_event_stream_resumes_after_last_event_id(api: Api) -> None:
    run = await api.submit(api.keys.member)
    await poll(api, api.keys.member, run["id"])
    url = f"/v1/runs/{run['id']}/events"

    resumed = await api.client.get(url, headers={**auth(api.keys.member), "Last-Event-ID": "2"})
    assert [int(m["id"]) for m in await read_all(resumed)] == [3, 4, 5]
    by_query = await api.client.get(f"{url}?after=3", headers=auth(api.keys.member))
    assert [m["event"] for m in await read_all(by_query)] == ["ModelResponded", "RunCompleted"]
    header_wins = await api.client.get(
        f"{url}?after=1", headers={**auth(api.keys.member), "Last-Event-ID": "4"}
    )
    assert [int(m["id"]) for m in await read_all(header_wins)] == [5]
    nothing_left = await api.client.get(url, headers={**auth(api.keys.member), "Last-Event-ID": "5"})
    assert nothing_left.status_code == 200 and await read_all(nothing_left) == []

    bearer = f"Bearer {api.keys.member}".encode()
    for bad in (
        b"two",
        b"-1",
        b"\xb2",
        str(2**31).encode(),
    ):  # b"\xb2" is Latin-1 "²", a digit to str.isdigit
        response = await api.client.get(url, headers=[(b"Authorization", bearer), (b"Last-Event-ID", bad)])
        assert_error(response, 422, "invalid_input")
    huge = await api.client.get(f"{url}?after={2**40}", headers=auth(api.keys.member))
    assert_error(huge, 422, "invalid_input")
    assert_error(await api.client.get(f"{url}?after=-1", headers=auth(api.keys.member)), 422, "invalid_input")


async def test_events_without_follow_and_as_json(api: Api) -> None:
    api.model.gate.clear()
    run = await api.submit(api.keys.member)
    await poll(api, api.keys.member, run["id"], {"running"})
    url = f"/v1/runs/{run['id']}/events"
    async with asyncio.timeout(5):
        so_far = await api.client.get(f"{url}?follow=false", headers=auth(api.keys.member))
    assert [m["event"] for m in await read_all(so_far)][:2] == ["RunCreated", "RunStarted"]

    live = await api.client.get(url, headers={**auth(api.keys.member), "Accept": "application/json"})
    assert live.status_code == 200 and live.json()["status"] == "running"
    api.model.gate.set()
    await poll(api, api.keys.member, run["id"])

    done = await api.client.get(
        f"{url}?after=1", headers={**auth(api.keys.member), "Accept": "application/json"}
    )
    assert done.status_code == 200 and done.headers["content-type"] == "application/json"
    body = done.json()
    assert body["run_id"] == run["id"] and body["status"] == "completed"
    assert [e["type"] for e in body["events"]] == GREETING_EVENTS[1:]
    assert [e["seq"] for e in body["events"]] == [2, 3, 4, 5]
    assert body["events"][-1]["payload"] and body["events"][0]["created_at"].endswith("Z")


async def test_idle_stream_sends_keepalives_and_stops_when_the_client_leaves(api: Api) -> None:
    api.model.gate.clear()
    run = await api.submit(api.keys.member)
    app = api_app(api.engine.runtime, api.store, stream=StreamOptions(poll_s=0.05, keepalive_s=0.2))
    waiters = api.engine.runtime.notifier._waiters  # the stream waits on the notifier between polls
    async with serve(app) as client, asyncio.timeout(10):
        async with client.stream(
            "GET", f"/v1/runs/{run['id']}/events", headers=auth(api.keys.member)
        ) as response:
            async for message in sse(response):
                if message.get("comment") == "keepalive":
                    break
        # The server noticed the disconnect and ended the stream: it no longer waits between
        # polls (checked over several poll intervals, so a stream caught mid-poll does not pass).
        quiet = 0
        while quiet < 10:
            quiet = 0 if run["id"] in waiters else quiet + 1
            await asyncio.sleep(0.02)
    assert (await poll(api, api.keys.member, run["id"], {"running"}))["status"] == "running"


# --- cancel and resume -----------------------------------------------------------------------


async def test_cancel_a_running_run(api: Api) -> None:
    api.model.gate.clear()
    run = await api.submit(api.keys.member)
    await poll(api, api.keys.member, run["id"], {"running"})
    response = await api.client.post(f"/v1/runs/{run['id']}/cancel", headers=auth(api.keys.member))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    api.model.gate.set()
    await api.engine.settle()
    assert (await poll(api, api.keys.member, run["id"]))["status"] == "cancelled"
    events = await api.client.get(f"/v1/runs/{run['id']}/events", headers=auth(api.keys.member))
    assert (await read_all(events))[-1]["event"] == "RunCancelled"  # and the stream closed

    again = await api.client.post(f"/v1/runs/{run['id']}/cancel", headers=auth(api.keys.member))
    assert_error(again, 409, "illegal_transition")
    resume = await api.client.post(f"/v1/runs/{run['id']}/resume", headers=auth(api.keys.member))
    assert_error(resume, 409, "illegal_transition")


async def test_resume_a_run_failed_by_a_model_outage(api: Api) -> None:
    api.model.inner.down = True
    run = await api.submit(api.keys.member)
    failed = await poll(api, api.keys.member, run["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "model_unavailable"
    assert "connection refused" in failed["error"]["message"]
    stream = await api.client.get(f"/v1/runs/{run['id']}/events", headers=auth(api.keys.member))
    assert (await read_all(stream))[-1]["event"] == "RunFailed"  # a failed run closes the stream

    api.model.inner.down = False
    response = await api.client.post(f"/v1/runs/{run['id']}/resume", headers=auth(api.keys.member))
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert response.json()["error"] is None
    done = await poll(api, api.keys.member, run["id"])
    assert done["status"] == "completed" and done["answer"] == "hello from support"


# --- who may see what ------------------------------------------------------------------------


async def _every_run_route(api: Api, key: str, run_id: str) -> list[httpx.Response]:
    url = f"/v1/runs/{run_id}"
    return [
        await api.client.get(url, headers=auth(key)),
        await api.client.get(f"{url}/events", headers=auth(key)),
        await api.client.get(f"{url}/events", headers={**auth(key), "Accept": "application/json"}),
        await api.client.post(f"{url}/cancel", headers=auth(key)),
        await api.client.post(f"{url}/resume", headers=auth(key)),
    ]


async def _events(api: Api, run_id: str) -> list[str]:
    return [e.type for e in await api.engine.runtime.events(api.tenant.admin, run_id)]


async def test_another_tenant_sees_nothing_and_changes_nothing(api: Api, store: ContextStore) -> None:
    api.model.gate.clear()
    run = await api.submit(api.keys.member)
    await poll(api, api.keys.member, run["id"], {"running"})
    before = await _events(api, run["id"])

    missing = "run_" + "0" * 26
    theirs = await _every_run_route(api, api.keys.stranger, run["id"])
    unknown = await _every_run_route(api, api.keys.stranger, missing)
    for response, baseline in zip(theirs, unknown, strict=True):
        assert_error(response, 404, "not_found")
        # Indistinguishable from a run that does not exist.
        assert response.text.replace(run["id"], missing) == baseline.text
    listed = await api.client.get("/v1/runs", headers=auth(api.keys.stranger))
    assert listed.json() == {"runs": []}
    by_key = await api.client.post(
        "/v1/runs",
        json={"bot": "support", "message": "hi"},
        headers={**auth(api.keys.stranger), "Idempotency-Key": "k"},
    )
    assert by_key.json()["id"] != run["id"]

    assert await _events(api, run["id"]) == before
    assert (await store.runs.get(api.tenant.id, run["id"])).status is RunStatus.RUNNING


async def test_a_member_cannot_see_a_colleagues_run_but_an_admin_can(api: Api, store: ContextStore) -> None:
    api.model.gate.clear()
    run = await api.submit(api.keys.member)
    await poll(api, api.keys.member, run["id"], {"running"})

    for response in await _every_run_route(api, api.keys.other_member, run["id"]):
        assert_error(response, 404, "not_found")
    assert (await store.runs.get(api.tenant.id, run["id"])).status is RunStatus.RUNNING

    seen = await api.client.get(f"/v1/runs/{run['id']}", headers=auth(api.keys.admin))
    assert seen.status_code == 200 and seen.json()["user_id"] == api.tenant.member.user_id
    cancelled = await api.client.post(f"/v1/runs/{run['id']}/cancel", headers=auth(api.keys.admin))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer sb_not_a_key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
    ],
    ids=["missing", "wrong", "basic", "empty"],
)
async def test_missing_or_wrong_key_is_401(api: Api, headers: dict[str, str]) -> None:
    requests = [
        api.client.post("/v1/runs", json={"bot": "support", "message": "hi"}, headers=headers),
        api.client.get("/v1/runs", headers=headers),
        api.client.get("/v1/runs/run_x", headers=headers),
        api.client.get("/v1/runs/run_x/events", headers=headers),
        api.client.post("/v1/runs/run_x/cancel", headers=headers),
        api.client.post("/v1/runs/run_x/resume", headers=headers),
    ]
    for response in await asyncio.gather(*requests):
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert await api.engine.runtime.runs(api.tenant.admin) == []


# --- bad input -------------------------------------------------------------------------------


async def post_raw(api: Api, content: bytes | AsyncIterator[bytes], **headers: str) -> httpx.Response:
    return await api.client.post(
        "/v1/runs",
        content=content,
        headers={**auth(api.keys.member), "Content-Type": "application/json", **headers},
    )


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        ({"bot": "nobody", "message": "hi"}, "unknown_bot", "nobody"),
        ({"bot": "support", "message": ""}, "invalid_input", "empty"),
        ({"bot": "support", "message": "   \n"}, "invalid_input", "empty"),
        ({"bot": "support", "message": "x" * 16_001}, "invalid_input", "16000"),
        ({"bot": "support"}, "invalid_input", "body.message: Field required"),
        ({"bot": "support", "message": 42}, "invalid_input", "body.message"),
        ({"bot": "support", "message": "hi", "sesion": "typo"}, "invalid_input", "body.sesion"),
        ({"bot": "support", "message": "hi", "session": ""}, "invalid_input", "body.session"),
        (["support", "hi"], "invalid_input", "body"),
    ],
    ids=[
        "unknown-bot",
        "empty",
        "blank",
        "too-long",
        "missing",
        "wrong-type",
        "extra",
        "empty-session",
        "array",
    ],
)
async def test_invalid_bodies_are_422(api: Api, body: object, code: str, needle: str) -> None:
    big = api_app(api.engine.runtime, api.store)  # the default 64 KiB limit: the too-long message fits in it
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=big), base_url="http://api") as client:
        response = await client.post("/v1/runs", json=body, headers=auth(api.keys.member))
    assert_error(response, 422, code)
    assert needle in response.json()["error"]["message"]
    assert await api.engine.runtime.runs(api.tenant.admin) == []


async def test_malformed_json_is_400(api: Api) -> None:
    for raw in (b'{"bot": "support", "message": ', b"\xff\xfe", b""):
        assert_error(await post_raw(api, raw), 400, "malformed_json")


async def test_oversized_bodies_are_413(api: Api) -> None:
    big = json.dumps({"bot": "support", "message": "x" * 5000}).encode()
    assert_error(await post_raw(api, big), 413, "payload_too_large")

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the bytes read are counted
        for i in range(0, len(big), 1000):
            yield big[i : i + 1000]

    assert_error(await post_raw(api, chunked()), 413, "payload_too_large")
    lying = await post_raw(api, big[:100], **{"Content-Length": "100000"})
    assert_error(lying, 413, "payload_too_large")
    assert await api.engine.runtime.runs(api.tenant.admin) == []


async def test_unknown_runs_routes_and_methods(api: Api) -> None:
    assert_error(await api.client.get("/v1/runs/run_nope", headers=auth(api.keys.member)), 404, "not_found")
    assert_error(
        await api.client.post("/v1/runs/run_nope/cancel", headers=auth(api.keys.member)), 404, "not_found"
    )
    assert_error(await api.client.get("/v2/whatever", headers=auth(api.keys.member)), 404, "not_found")
    wrong = await api.client.delete("/v1/runs", headers=auth(api.keys.member))
    assert_error(wrong, 405, "method_not_allowed")
    assert set(wrong.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


# --- health, OpenAPI and a store that is down ------------------------------------------------


async def test_healthz_and_openapi_need_no_key(api: Api) -> None:
    health = await api.client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}

    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    assert {(path, method) for path, ops in doc["paths"].items() for method in ops} == {
        ("/v1/runs", "post"),
        ("/v1/runs", "get"),
        ("/v1/runs/{run_id}", "get"),
        ("/v1/runs/{run_id}/events", "get"),
        ("/v1/runs/{run_id}/cancel", "post"),
        ("/v1/runs/{run_id}/resume", "post"),
        ("/v1/runs/{run_id}/reconcile", "post"),
        ("/v1/approvals", "get"),
        ("/v1/approvals/{approval_id}", "get"),
        ("/v1/approvals/{approval_id}", "post"),
        ("/v1/questions/{question_id}", "get"),
        ("/v1/questions/{question_id}", "post"),
        ("/v1/audit", "get"),
        ("/v1/bots", "get"),
        ("/v1/runs/{run_id}/message", "get"),
        ("/v1/schedules", "get"),
        ("/v1/schedules", "post"),
        ("/v1/schedules/{schedule_id}", "get"),
        ("/v1/schedules/{schedule_id}", "delete"),
        ("/v1/schedules/{schedule_id}/pause", "post"),
        ("/v1/schedules/{schedule_id}/resume", "post"),
        ("/v1/alerts", "get"),
        ("/v1/alerts/{alert_id}", "get"),
        ("/v1/alerts/{alert_id}/acknowledge", "post"),
        ("/v1/alerts/{alert_id}/silence", "post"),
        ("/v1/alerts/{alert_id}/investigate", "post"),
        ("/v1/me", "get"),
        ("/v1/sessions", "get"),
        ("/v1/sessions/{session_id}", "get"),
        ("/v1/sessions/{session_id}/messages", "get"),
        ("/v1/knowledge/namespaces", "get"),
        ("/v1/knowledge/namespaces", "post"),
        ("/v1/knowledge/namespaces/{namespace}", "delete"),
        ("/v1/knowledge/namespaces/{namespace}/documents", "get"),
        ("/v1/knowledge/namespaces/{namespace}/documents", "put"),
        ("/v1/knowledge/namespaces/{namespace}/documents", "delete"),
        ("/v1/knowledge/search", "post"),
        ("/v1/knowledge/groups", "get"),
        ("/v1/knowledge/groups/{group}/members/{user_id}", "put"),
        ("/v1/knowledge/groups/{group}/members/{user_id}", "delete"),
        ("/healthz", "get"),
        ("/openapi.json", "get"),
    }
    schemas = doc["components"]["schemas"]
    assert set(schemas["SubmitBody"]["required"]) == {"bot", "message"}
    assert schemas["RunView"]["properties"]["created_at"]["format"] == "date-time"
    refs = {m.group(1) for m in __import__("re").finditer(r'"#/components/schemas/([^"]+)"', response.text)}
    assert refs <= set(schemas)  # every reference resolves
    assert [p["name"] for p in doc["paths"]["/v1/runs"]["get"]["parameters"]] == ["status", "bot", "limit"]
    assert [p["name"] for p in doc["paths"]["/v1/alerts"]["get"]["parameters"]] == ["status", "limit"]
    assert set(doc["paths"]["/v1/schedules/{schedule_id}"]["delete"]["responses"]["204"]) == {"description"}
    assert doc["paths"]["/v1/alerts/{alert_id}/investigate"]["post"]["responses"]["202"]["content"]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:1/switchboard",
        "sqlite+aiosqlite:////nonexistent/switchboard/db.sqlite",
    ],
    ids=["postgres-closed-port", "sqlite-missing-directory"],
)
async def test_store_down_is_503(url: str) -> None:
    async def never(run_id: str, enqueue: object) -> None:
        raise AssertionError("no step should run")

    store = ContextStore.open(url)
    runtime = Runtime(store, BotRegistry([support_bot]), InProcessQueue(never), RunNotifier())
    app = api_app(runtime, store)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            health = await client.get("/healthz")
            assert health.status_code == 503 and health.json()["status"] == "unavailable"
            assert health.json()["error"]["code"] == "store_unavailable" and "127.0.0.1" not in health.text
            requests = [
                client.get("/v1/runs", headers=auth("sb_any")),
                client.post("/v1/runs", json={"bot": "support", "message": "hi"}, headers=auth("sb_any")),
                client.get("/v1/runs/run_x/events", headers=auth("sb_any")),
            ]
            for response in await asyncio.gather(*requests):
                assert_error(response, 503, "store_unavailable")
                assert response.headers["retry-after"].isdigit() and "127.0.0.1" not in response.text
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (Conflict("parked", code="awaiting_decision"), 409, "awaiting_decision"),
        (IllegalTransition("no"), 409, "illegal_transition"),
        (Conflict("reused", code="idempotency_conflict"), 409, "idempotency_conflict"),
        (MisuseError("odd"), 422, "bad_request"),
        (Forbidden("no"), 403, "forbidden"),
        (StaleLease("lost"), 500, "internal"),
        (ModelUnavailable("down"), 500, "internal"),
        (IdempotencyConflict("a tool's key"), 500, "internal"),  # a run error, never the caller's
    ],
)
def test_error_statuses(error: SwitchboardError, status: int, code: str) -> None:
    assert public_error(error)[0] == status and public_error(error)[1].code == code
