"""Text the database would refuse is refused at the API (core/text.py): a 422 or 404 JSON answer,
never a 500, on both databases."""

from __future__ import annotations

import json

import pytest

from tests.channels.api.conftest import Api, auth


def _body(**fields: object) -> bytes:
    # httpx encodes JSON as UTF-8, which cannot carry a lone surrogate; a client's escape can.
    return json.dumps({"bot": "support", **fields}).encode()


async def _post_run(api: Api, content: bytes) -> tuple[int, dict[str, object]]:
    response = await api.client.post(
        "/v1/runs",
        content=content,
        headers={**auth(api.keys.member), "Content-Type": "application/json"},
    )
    return response.status_code, response.json()


@pytest.mark.parametrize(
    "fields",
    [
        {"message": "hello\x00world"},
        {"message": "hello \ud800"},
        {"message": "hi", "session": "thread\x00one"},
        {"message": "hi", "session": "thread\ud800"},
        {"message": "hi", "session": "line\nbreak"},
        {"message": "hi", "bot": "sup\x00port"},
    ],
    ids=[
        "nul-message",
        "surrogate-message",
        "nul-session",
        "surrogate-session",
        "control-session",
        "nul-bot",
    ],
)
async def test_a_body_with_text_the_store_refuses_is_a_422(api: Api, fields: dict[str, object]) -> None:
    status, body = await _post_run(api, _body(**fields))
    assert status == 422, body
    assert body["error"]["code"] == "invalid_input"  # type: ignore[index]


async def test_a_message_keeps_its_line_breaks_and_tabs(api: Api) -> None:
    status, body = await _post_run(api, _body(message="one\n\ttwo\r\n"))
    assert status == 202, body


DIGEST = {
    "bot": "support",
    "prompt": "Post the ops digest",
    "cron": "0 9 * * mon-fri",
    "target": {"surface": "slack", "channel": "C0OPS"},
}


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({**DIGEST, "prompt": "digest\x00now"}),
        json.dumps({**DIGEST, "name": "ops \ud800"}),
        json.dumps({**DIGEST, "params": {"threshold": float("nan")}}),
        json.dumps({**DIGEST, "params": {"threshold": float("inf")}}),
    ],
    ids=["nul-prompt", "surrogate-name", "nan-param", "infinite-param"],
)
async def test_a_schedule_the_store_would_refuse_is_refused(api: Api, raw: str) -> None:
    response = await api.client.post(
        "/v1/schedules",
        content=raw.encode(),
        headers={**auth(api.keys.member), "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422), response.text
    assert response.json()["error"]["code"] in ("malformed_json", "invalid_input")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/runs/run%00x",
        "/v1/runs/run%00x/events",
        "/v1/runs/run%00x/message",
        "/v1/runs/run%01x/cancel",
        "/v1/approvals/%00",
        "/v1/approvals/%ud800",
        "/v1/approvals/%ED%A0%80",
        "/v1/questions/q%00",
        "/v1/schedules/s%00",
        "/v1/alerts/a%00",
    ],
)
async def test_an_id_in_the_path_with_text_no_id_has_is_a_json_4xx(api: Api, path: str) -> None:
    method = "POST" if path.endswith("/cancel") else "GET"
    response = await api.client.request(
        method, path, headers={**auth(api.keys.member), "Accept": "application/json"}
    )
    assert response.status_code in (404, 422), response.text
    assert response.json()["error"]["code"] in ("not_found", "invalid_input")


@pytest.mark.parametrize("query", ["bot=sup%00port", "bot=sup%1Fport", "status=queued%00"])
async def test_a_query_with_a_control_character_is_a_422(api: Api, query: str) -> None:
    response = await api.client.get(f"/v1/runs?{query}", headers=auth(api.keys.member))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize("path", ["/v1/runs/run%00x", "/v1/schedules/s%0A/pause", "/v1/alerts/a%7F"])
async def test_the_path_guard_answers_before_any_route_looks_the_id_up(api: Api, path: str) -> None:
    refused = await api.client.post(path, headers=auth(api.keys.member))
    passed = await api.client.get("/v1/runs/run_unknown", headers=auth(api.keys.member))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_input" and error["message"].startswith("the path contains")
    assert passed.status_code == 404
