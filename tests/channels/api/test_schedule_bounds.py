"""POST /v1/schedules refuses numbers out of range as 422 with a reason, before the store: a
member cannot create a schedule the scheduler would trip over at every round."""

from __future__ import annotations

from typing import Any

import pytest

from tests.channels.api.conftest import Api, auth

DIGEST: dict[str, Any] = {
    "bot": "support",
    "prompt": "Post the ops digest",
    "target": {"surface": "slack", "channel": "C0OPS"},
}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"interval_s": 10**12}, "interval_s"),
        ({"interval_s": 10**14}, "interval_s"),
        ({"interval_s": 10**30}, "interval_s"),
        ({"interval_s": 0}, "interval_s"),
        ({"interval_s": 3600, "grace_s": 10**20}, "grace_s"),
        ({"cron": "0 0 30 2 *"}, "never"),
        ({"interval_s": 3600, "params": {"n": 10**30}}, "params"),
    ],
)
async def test_out_of_range_numbers_are_a_422(api: Api, fields: dict[str, Any], reason: str) -> None:
    refused = await api.client.post("/v1/schedules", json={**DIGEST, **fields}, headers=auth(api.keys.member))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_input" and reason in refused.text
    listed = await api.client.get("/v1/schedules", headers=auth(api.keys.member))
    assert listed.json() == {"schedules": []}


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
async def test_non_finite_numbers_in_params_are_a_422(api: Api, number: bytes) -> None:
    body = b'{"bot": "support", "prompt": "p", "interval_s": 3600, "target": {"surface": "slack", '
    body += b'"channel": "C0OPS"}, "params": {"n": ' + number + b"}}"
    refused = await api.client.post(
        "/v1/schedules", content=body, headers={**auth(api.keys.member), "content-type": "application/json"}
    )
    assert refused.status_code == 422, refused.text


async def test_the_edges_are_accepted(api: Api) -> None:
    for fields in ({"interval_s": 60, "grace_s": 0}, {"interval_s": 366 * 86_400, "grace_s": 7 * 86_400}):
        created = await api.client.post(
            "/v1/schedules", json={**DIGEST, **fields}, headers=auth(api.keys.member)
        )
        assert created.status_code == 201, created.text
