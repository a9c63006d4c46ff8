"""Slack's first connection: Slack checks the request URL when the app is created from the
manifest, before its signing secret and bot token can be set. `switchboard serve` without Slack
settings answers that check, and nothing else, at `POST /slack/events`; once the secrets are set
the check is answered only when Slack signed it. Served by uvicorn on 127.0.0.1, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette

from channels.slack.setup import MAX_SETUP_BODY_BYTES
from core.settings import Settings, SlackSettings
from service.server import create_app
from tests.channels.slack.conftest import SECRET, TOKEN
from tests.fakes.slack_api import FakeSlackApi, sign

CHALLENGE = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"  # the shape Slack sends
JSON = {"Content-Type": "application/json"}


def check(challenge: object = CHALLENGE) -> bytes:
    return json.dumps({"token": "legacy", "challenge": challenge, "type": "url_verification"}).encode()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [k for k in os.environ if k.startswith(("SWITCHBOARD_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """`switchboard serve`'s app under uvicorn, its lifespan run, and a client for it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                assert not task.done(), "uvicorn stopped before it started"
                await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False) as c:
            yield c
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@pytest.fixture
async def unconfigured(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with served(create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/a.db"))) as client:
        yield client


@pytest.fixture
def slack_api_up() -> Iterator[FakeSlackApi]:
    with FakeSlackApi(TOKEN) as api:
        yield api


def error(response: httpx.Response) -> dict[str, str]:
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return dict(body["error"])


async def test_before_the_secrets_are_set_slacks_url_check_is_answered(
    unconfigured: httpx.AsyncClient,
) -> None:
    response = await unconfigured.post("/slack/events", content=check(), headers=JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"challenge": CHALLENGE}
    # Slack signs its check with a secret this service does not know yet: answered all the same.
    signed = await unconfigured.post(
        "/slack/events", content=check(), headers={**JSON, **sign("not-known-yet", check())}
    )
    assert signed.status_code == 200 and signed.json() == {"challenge": CHALLENGE}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b'{"type": "event_callback", "event": {"type": "app_mention", "text": "hi"}}', id="event"
        ),
        pytest.param(b'{"type": "block_actions", "challenge": "x"}', id="click-with-a-challenge"),
        pytest.param(b"{}", id="empty-object"),
    ],
)
async def test_before_the_secrets_are_set_nothing_else_is_accepted(
    unconfigured: httpx.AsyncClient, body: bytes
) -> None:
    response = await unconfigured.post("/slack/events", content=body, headers={**JSON, **sign(SECRET, body)})
    assert response.status_code == 404
    found = error(response)
    assert found["code"] == "not_found"
    assert "SWITCHBOARD_SLACK__SIGNING_SECRET" in found["message"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param(b"{not json", 400, "malformed_json", id="not-json"),
        pytest.param(b"\xff\xfe binary", 400, "malformed_json", id="not-utf8"),
        pytest.param(b"[1]", 422, "invalid_input", id="array"),
        pytest.param(check(5), 422, "invalid_input", id="challenge-a-number"),
        pytest.param(check(""), 422, "invalid_input", id="challenge-empty"),
        pytest.param(check("x" * 256), 422, "invalid_input", id="challenge-too-long"),
        pytest.param(check("<script>\n"), 422, "invalid_input", id="challenge-not-printable"),
        pytest.param(check(None), 422, "invalid_input", id="challenge-missing"),
    ],
)
async def test_before_the_secrets_are_set_a_bad_check_is_a_clear_4xx(
    unconfigured: httpx.AsyncClient, body: bytes, status: int, code: str
) -> None:
    response = await unconfigured.post("/slack/events", content=body, headers=JSON)
    assert response.status_code == status, response.text
    assert error(response)["code"] == code


async def test_before_the_secrets_are_set_the_body_is_capped(unconfigured: httpx.AsyncClient) -> None:
    padded = json.dumps(
        {"type": "url_verification", "challenge": CHALLENGE, "pad": "x" * MAX_SETUP_BODY_BYTES}
    ).encode()
    declared = await unconfigured.post("/slack/events", content=padded, headers=JSON)
    assert declared.status_code == 413 and error(declared)["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the received bytes count
        for start in range(0, len(padded), 1024):
            yield padded[start : start + 1024]

    chunked = await unconfigured.post("/slack/events", content=chunks(), headers=JSON)
    assert chunked.status_code == 413 and error(chunked)["code"] == "payload_too_large"


async def test_the_rest_of_the_service_is_unchanged(unconfigured: httpx.AsyncClient) -> None:
    assert (await unconfigured.get("/")).headers["content-type"].startswith("text/html")
    assert (await unconfigured.post("/slack/nowhere", content=b"{}")).status_code == 404


async def test_once_the_secrets_are_set_the_check_must_be_signed(
    tmp_path: Path, slack_api_up: FakeSlackApi
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/b.db",
        slack=SlackSettings(
            bot_token=SecretStr(TOKEN), signing_secret=SecretStr(SECRET), api_base_url=slack_api_up.base_url
        ),
    )
    async with served(create_app(settings)) as client:
        unsigned = await client.post("/slack/events", content=check(), headers=JSON)
        assert unsigned.status_code == 401 and error(unsigned)["code"] == "unauthorized"
        forged = await client.post(
            "/slack/events", content=check(), headers={**JSON, **sign("not-the-secret", check())}
        )
        assert forged.status_code == 401
        signed = await client.post(
            "/slack/events", content=check(), headers={**JSON, **sign(SECRET, check())}
        )
        assert signed.status_code == 200
        assert signed.json() == {"challenge": CHALLENGE}
