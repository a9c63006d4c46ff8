"""What reaches `POST /slack/events` that Slack never sends: the size is capped first, then the
signature is checked, then the body is read; anything unreadable is a 4xx in the API's error
shape, with nothing recorded, no Slack call made and no traceback logged. A signed event whose
fields have unexpected types is acknowledged (Slack wants its 200 within 3 s) and ignored."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select

from channels.slack.channel import MAX_BODY_BYTES
from core.store.schema import identities, inbound_events, runs
from tests.channels.slack.conftest import SECRET, SlackTestbed, mention
from tests.fakes.slack_api import TEAM_ID, sign

TENANT = f"slack-{TEAM_ID}"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
NESTED = b"[" * 100_000 + b"]" * 100_000


async def nothing_recorded(bed: SlackTestbed) -> bool:
    def count(conn: Any) -> int:
        return sum(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (runs, identities, inbound_events)
        )

    return await bed.store.db.run(count) == 0 and bed.api.calls() == []


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert loud == [], [r.getMessage() for r in loud]


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return str(body["error"]["code"])


def form(payload: str) -> bytes:
    return urlencode({"payload": payload}).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        pytest.param(b"{not json", JSON, 400, "malformed_json", id="not-json"),
        pytest.param(b"[1, 2, 3]", JSON, 422, "invalid_input", id="json-array"),
        pytest.param(b'"a string"', JSON, 422, "invalid_input", id="json-string"),
        pytest.param(form("{not json"), FORM, 400, "malformed_json", id="form-payload-not-json"),
        pytest.param(form("[1]"), FORM, 422, "invalid_input", id="form-payload-array"),
        pytest.param(b"\xff\xfe\x00binary\x80", JSON, 400, "malformed_json", id="binary"),
        pytest.param(b"\xff\xfe\x00payload\x80", FORM, 400, "malformed_json", id="binary-form"),
        pytest.param(NESTED, JSON, 400, "malformed_json", id="deeply-nested"),
        pytest.param(form(NESTED.decode()), FORM, 400, "malformed_json", id="deeply-nested-form"),
        pytest.param(
            b'{"type": "event_callback", "event": "x"}', JSON, 422, "invalid_input", id="event-a-string"
        ),
        pytest.param(
            b'{"type": "event_callback", "authorizations": "x"}',
            JSON,
            422,
            "invalid_input",
            id="authorizations-a-string",
        ),
        pytest.param(b'{"type": 5, "team": 5}', JSON, 422, "invalid_input", id="team-a-number"),
        pytest.param(
            form('{"type": "block_actions", "actions": "x", "user": 5}'),
            FORM,
            422,
            "invalid_input",
            id="actions-a-string",
        ),
    ],
)
async def test_a_signed_body_slack_never_sends_is_a_4xx_with_nothing_recorded(
    bed: SlackTestbed,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    response = await bed.post(body, content_type)
    assert (response.status_code, error_code(response)) == (status, code)
    assert await nothing_recorded(bed)
    assert_quiet(caplog)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"[1, 2, 3]", id="json-array"),
        pytest.param(b"\xff\xfe\x00binary\x80", id="binary"),
        pytest.param(NESTED, id="deeply-nested"),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="unsigned"),
        pytest.param(sign("not-the-secret", b"{}"), id="forged"),
        pytest.param(
            {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}, id="timestamp-not-a-number"
        ),
        pytest.param(
            {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=00"}, id="timestamp-huge"
        ),
        pytest.param(
            {"X-Slack-Request-Timestamp": "-1", "X-Slack-Signature": "v0=00"}, id="timestamp-negative"
        ),
        pytest.param(
            {"X-Slack-Request-Timestamp": b"\xb2\xb3", "X-Slack-Signature": "v0=00"},
            id="timestamp-latin1-digits",
        ),
        pytest.param(
            {"X-Slack-Request-Timestamp": "0", "X-Slack-Signature": b"v0=\xff"}, id="signature-latin1"
        ),
    ],
)
async def test_the_signature_is_checked_before_the_body_is_read(
    bed: SlackTestbed, caplog: pytest.LogCaptureFixture, body: bytes, headers: dict[str, str | bytes]
) -> None:
    response = await bed.http.post("/slack/events", content=body, headers={"Content-Type": JSON, **headers})
    assert (response.status_code, error_code(response)) == (401, "unauthorized")
    assert await nothing_recorded(bed)
    assert_quiet(caplog)


async def test_a_signed_form_nobody_handles_is_a_404_in_the_error_shape(
    bed: SlackTestbed, caplog: pytest.LogCaptureFixture
) -> None:
    response = await bed.post(b"not json at all", "text/plain")
    assert (response.status_code, error_code(response)) == (404, "not_found")
    assert_quiet(caplog)


async def test_the_signature_covers_the_raw_bytes_and_its_time(bed: SlackTestbed) -> None:
    body = json.dumps({"type": "event_callback", "event": mention("hi")}).encode()
    stale = sign(SECRET, body, int(time.time()) - 600)
    assert (await bed.post(body, JSON, headers=stale)).status_code == 401
    tampered = sign(SECRET, body)
    assert (await bed.post(body.replace(b"hi", b"ho"), JSON, headers=tampered)).status_code == 401


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
async def test_an_oversized_body_is_a_413_before_anything_else(
    bed: SlackTestbed, caplog: pytest.LogCaptureFixture, signed: bool
) -> None:
    body = b'{"type": "event_callback", "pad": "' + b"x" * (2 * MAX_BODY_BYTES) + b'"}'
    response = await bed.post(body, JSON, headers=None if signed else {})
    assert (response.status_code, error_code(response)) == (413, "payload_too_large")
    assert await nothing_recorded(bed)
    assert_quiet(caplog)


async def test_a_chunked_oversized_body_is_refused_as_its_bytes_arrive(
    bed: SlackTestbed, caplog: pytest.LogCaptureFixture
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(10 * MAX_BODY_BYTES // 65536):  # 10 MiB, with no Content-Length
            sent += 1
            yield b"x" * 65536

    response = await bed.http.post("/slack/events", content=chunks(), headers={"Content-Type": JSON})
    assert (response.status_code, error_code(response)) == (413, "payload_too_large")
    assert sent < 10 * MAX_BODY_BYTES // 65536  # it stopped reading once it knew
    assert await nothing_recorded(bed)
    assert_quiet(caplog)


async def test_a_declared_oversized_body_is_refused_by_its_content_length(bed: SlackTestbed) -> None:
    headers = {"Content-Type": JSON, "Content-Length": str(10 * MAX_BODY_BYTES)}
    response = await bed.http.post("/slack/events", content=b"{}", headers=headers)
    assert (response.status_code, error_code(response)) == (413, "payload_too_large")


STILL_READABLE = {"blocks", "thread_ts", "subtype"}  # the message may be taken without these
BLOB: Any = "deep"
for _ in range(200):
    BLOB = {"k": [BLOB]}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"text": 42}, id="text-a-number"),
        pytest.param({"text": {"nested": ["x"]}}, id="text-an-object"),
        pytest.param({"user": None}, id="no-user"),
        pytest.param({"user": 7}, id="user-a-number"),
        pytest.param({"user": "U\x00BAD"}, id="user-with-nul"),
        pytest.param({"user": "U\ud800"}, id="user-with-surrogate"),
        pytest.param({"channel": ["C100"]}, id="channel-a-list"),
        pytest.param({"channel": "C\ud800"}, id="channel-with-surrogate"),
        pytest.param({"ts": None}, id="no-ts"),
        pytest.param({"ts": 1700000100.0001}, id="ts-a-number"),
        pytest.param({"thread_ts": {"a": 1}}, id="thread-ts-an-object"),
        pytest.param({"subtype": ["x"]}, id="subtype-a-list"),
        pytest.param({"bot_id": 5}, id="bot-id-a-number"),
        pytest.param({"blocks": BLOB, "files": BLOB}, id="huge-nested-blob"),
    ],
)
@pytest.mark.parametrize("kind", ["app_mention", "message"])
async def test_a_signed_event_with_unexpected_fields_is_acknowledged_and_ignored(
    bed: SlackTestbed, caplog: pytest.LogCaptureFixture, change: dict[str, Any], kind: str
) -> None:
    event = {**mention("hello", ts="1700000100.000100"), "type": kind, "channel_type": "im"} | change
    event = {k: v for k, v in event.items() if v is not None}
    started = time.monotonic()
    response = await bed.event(event)
    assert response.status_code == 200
    assert time.monotonic() - started < 3
    assert_quiet(caplog)
    if not change.keys() & STILL_READABLE:
        assert (
            await bed.store.db.run(lambda c: c.execute(select(func.count()).select_from(runs)).scalar_one())
        ) == 0
    # Nothing was poisoned: the next ordinary message is answered.
    await bed.event(mention("still there?", ts="1700000200.000100"))
    await bed.settle(
        lambda: any("still there?" in m.text for m in bed.api.thread("C100", "1700000200.000100"))
    )


@pytest.mark.parametrize(
    "envelope",
    [
        pytest.param({"event_id": 12345}, id="event-id-a-number"),
        pytest.param({"event_id": "Ev\ud800"}, id="event-id-with-surrogate"),
        pytest.param({"event_id": "Ev\x00"}, id="event-id-with-nul"),
        pytest.param({"team_id": ["T0001"]}, id="team-id-a-list"),
        pytest.param({"authorizations": [5]}, id="authorizations-of-numbers"),
        pytest.param({"authorizations": []}, id="no-authorizations"),
        pytest.param({"event": {"text": "no type"}}, id="event-without-type"),
    ],
)
async def test_a_signed_envelope_with_unexpected_fields_is_a_4xx_or_an_ack(
    bed: SlackTestbed, caplog: pytest.LogCaptureFixture, envelope: dict[str, Any]
) -> None:
    body = {
        "type": "event_callback",
        "team_id": TEAM_ID,
        "event_id": "Ev1",
        "event": mention("hello"),
        "authorizations": [{"team_id": TEAM_ID, "user_id": "UBOT", "is_bot": True}],
    } | envelope
    response = await bed.post(json.dumps(body).encode(), JSON)
    assert response.status_code < 500
    if response.status_code >= 400:
        error_code(response)
    assert_quiet(caplog)


@pytest.mark.parametrize("text", ["nul \x00 inside", "lone \ud800 surrogate", "\udfff", "\x00"])
async def test_text_with_nul_or_lone_surrogates_does_not_crash_the_surface(
    bed: SlackTestbed, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    response = await bed.event(mention(text, ts="1700000300.000100"))
    assert response.status_code == 200
    assert_quiet(caplog)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"actions": [{"action_id": "sb_approve", "value": 5}]}, id="value-a-number"),
        pytest.param({"actions": [{"action_id": "sb_approve"}]}, id="no-value"),
        pytest.param(
            {"actions": [{"action_id": "sb_answer:0", "value": {"x": 1}}]}, id="answer-value-an-object"
        ),
        pytest.param(
            {"actions": [{"action_id": "sb_answer:0", "value": "q:notanumber"}]},
            id="answer-index-not-a-number",
        ),
        pytest.param(
            {"actions": [{"action_id": "sb_answer:0", "value": "q:" + "9" * 5000}]},
            id="answer-index-out-of-range",
        ),
        pytest.param(
            {"actions": [{"action_id": "sb_deny", "value": "a"}], "trigger_id": None},
            id="deny-without-trigger",
        ),
        pytest.param(
            {"actions": [{"action_id": "sb_approve", "value": "a"}], "user": {"id": 5}}, id="user-id-a-number"
        ),
        pytest.param(
            {"actions": [{"action_id": "sb_approve", "value": "a"}], "user": {"id": "U\ud800"}},
            id="user-id-with-surrogate",
        ),
        pytest.param(
            {"actions": [{"action_id": "sb_approve", "value": "a\x00"}], "container": "x"},
            id="container-a-string",
        ),
        pytest.param({"actions": [{"action_id": "sb_alert_ack:1", "value": 1}]}, id="alert-value-a-number"),
    ],
)
async def test_a_signed_click_with_unexpected_fields_is_not_a_500(
    bed: SlackTestbed, caplog: pytest.LogCaptureFixture, change: dict[str, Any]
) -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "UALICE", "team_id": TEAM_ID},
        "team": {"id": TEAM_ID},
        "api_app_id": "A1",
        "trigger_id": "trig.1",
        "container": {"type": "message", "channel_id": "C100", "message_ts": "1.2"},
        "channel": {"id": "C100"},
        "message": {"ts": "1.2"},
    } | change
    payload = {k: v for k, v in payload.items() if v is not None}
    response = await bed.post(form(json.dumps(payload)), FORM)
    assert response.status_code < 500
    if response.status_code >= 400:
        error_code(response)
    assert_quiet(caplog)


@pytest.mark.parametrize(
    "view",
    [
        pytest.param(
            {"callback_id": "sb_deny_reason", "private_metadata": "{not json"}, id="metadata-not-json"
        ),
        pytest.param({"callback_id": "sb_deny_reason", "private_metadata": "[1]"}, id="metadata-an-array"),
        pytest.param({"callback_id": "sb_free_text", "private_metadata": 5}, id="metadata-a-number"),
        pytest.param({"callback_id": "sb_free_text", "private_metadata": "{}"}, id="metadata-without-id"),
        pytest.param(
            {"callback_id": "sb_free_text", "private_metadata": '{"question_id": 5}', "state": "x"},
            id="state-a-string",
        ),
    ],
)
async def test_a_signed_modal_submission_with_unexpected_fields_is_not_a_500(
    bed: SlackTestbed, caplog: pytest.LogCaptureFixture, view: dict[str, Any]
) -> None:
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID},
        "user": {"id": "UALICE", "team_id": TEAM_ID},
        "api_app_id": "A1",
        "view": {"id": "V1", "type": "modal", **view},
    }
    response = await bed.post(form(json.dumps(payload)), FORM)
    assert response.status_code < 500
    if response.status_code >= 400:
        error_code(response)
    assert_quiet(caplog)
