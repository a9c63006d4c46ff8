"""Slack's first connection: Slack checks the request URL when the app is created from the
manifest, before its signing secret and bot token can be set. `switchboard serve` without Slack
settings answers that check, and nothing else, at `POST /slack/events`; once the secrets are set
the check is answered only when Slack signed it. Served by uvicorn on 127.0.0.1, over real HTTP."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from channels.slack.setup import MAX_SETUP_BODY_BYTES
from core.settings import Settings, SlackSettings
from service.server import create_app
from tests.channels.slack.conftest import SECRET, TOKEN
from tests.fakes.slack_api import FakeSlackApi, sign

CHALLENGE = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"  # the shape Slack sends
JSON = {"Content-Type": "application/json"}


def check(challenge: object = CHALLENGE) -> bytes:
    return json.dumps({"token": "legacy", "challenge": challenge, "type": "url_verification"}).encode()


@contextmanager
def served(database_url: str, slack: SlackSettings | None = None) -> Iterator[httpx.Client]:
    """`switchboard serve`'s app under uvicorn on its own thread (lifespan and all), from an
    environment without Switchboard or model settings, and a client for it."""
    with pytest.MonkeyPatch.context() as env:
        for name in [k for k in os.environ if k.startswith(("SWITCHBOARD_", "OPENAI_"))]:
            env.delenv(name)
        settings = Settings(database_url=database_url, slack=slack or SlackSettings())
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="serve", daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while not server.started:
                assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.02)
            port = server.servers[0].sockets[0].getsockname()[1]
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False) as client:
                yield client
        finally:
            server.should_exit = True
            thread.join(15)


@pytest.fixture(scope="module")
def unconfigured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One service without Slack settings for the module: nothing these tests send is recorded."""
    where = tmp_path_factory.mktemp("unconfigured")
    with served(f"sqlite+aiosqlite:///{where}/a.db") as client:
        yield client


def error(response: httpx.Response) -> dict[str, str]:
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return dict(body["error"])


def test_before_the_secrets_are_set_slacks_url_check_is_answered(
    unconfigured: httpx.Client,
) -> None:
    response = unconfigured.post("/slack/events", content=check(), headers=JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"challenge": CHALLENGE}
    # Slack signs its check with a secret this service does not know yet: answered all the same.
    signed = unconfigured.post(
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
def test_before_the_secrets_are_set_nothing_else_is_accepted(unconfigured: httpx.Client, body: bytes) -> None:
    response = unconfigured.post("/slack/events", content=body, headers={**JSON, **sign(SECRET, body)})
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
def test_before_the_secrets_are_set_a_bad_check_is_a_clear_4xx(
    unconfigured: httpx.Client, body: bytes, status: int, code: str
) -> None:
    response = unconfigured.post("/slack/events", content=body, headers=JSON)
    assert response.status_code == status, response.text
    assert error(response)["code"] == code


def test_before_the_secrets_are_set_the_body_is_capped(unconfigured: httpx.Client) -> None:
    padded = json.dumps(
        {"type": "url_verification", "challenge": CHALLENGE, "pad": "x" * MAX_SETUP_BODY_BYTES}
    ).encode()
    declared = unconfigured.post("/slack/events", content=padded, headers=JSON)
    assert declared.status_code == 413 and error(declared)["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the received bytes count
        for start in range(0, len(padded), 1024):
            yield padded[start : start + 1024]

    chunked = unconfigured.post("/slack/events", content=chunks(), headers=JSON)
    assert chunked.status_code == 413 and error(chunked)["code"] == "payload_too_large"


def test_the_rest_of_the_service_is_unchanged(unconfigured: httpx.Client) -> None:
    assert unconfigured.get("/").headers["content-type"].startswith("text/html")
    for method, path, status in [("GET", "/slack/events", 405), ("POST", "/slack/nowhere", 404)]:
        response = unconfigured.request(method, path, content=b"{}")
        assert response.status_code == status and error(response)["code"], response.text


def test_once_the_secrets_are_set_the_check_must_be_signed(tmp_path: Path, slack_api: FakeSlackApi) -> None:
    slack = SlackSettings(
        bot_token=SecretStr(TOKEN), signing_secret=SecretStr(SECRET), api_base_url=slack_api.base_url
    )
    with served(f"sqlite+aiosqlite:///{tmp_path}/b.db", slack) as client:
        unsigned = client.post("/slack/events", content=check(), headers=JSON)
        assert unsigned.status_code == 401 and error(unsigned)["code"] == "unauthorized"
        forged = client.post(
            "/slack/events", content=check(), headers={**JSON, **sign("not-the-secret", check())}
        )
        assert forged.status_code == 401
        signed = client.post("/slack/events", content=check(), headers={**JSON, **sign(SECRET, check())})
        assert signed.status_code == 200
        assert signed.json() == {"challenge": CHALLENGE}
        wrong_method = client.get("/slack/events")
        assert wrong_method.status_code == 405 and error(wrong_method)["code"] == "method_not_allowed"
