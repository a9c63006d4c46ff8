"""Only the Bot Framework may post activities: a token signed by a key from its OpenID metadata,
for this bot, still valid, naming the service URL it points us at. Anything else is a 401 and
leaves nothing behind: no tenant, no user, no conversation, no run, no inbound event."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from core.store.context import ContextStore
from core.store.schema import identities, inbound_events, runs, teams_conversations
from tests.channels.teams.conftest import (
    PERSONAL,
    TENANT,
    TeamsTestbed,
    activity,
    echo,
    settings_for,
    teams_service,
)
from tests.fakes.models import FunctionModel
from tests.fakes.teams_connector import FakeTeamsConnector, new_key


async def recorded(store: ContextStore) -> dict[str, Any]:
    def count(conn: Any) -> dict[str, Any]:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (runs, identities, inbound_events, teams_conversations)
        }

    found = await store.db.run(count)
    return found | {"tenant": await store.directory.tenant_exists(TENANT)}


NOTHING = {"runs": 0, "identities": 0, "inbound_events": 0, "teams_conversations": 0, "tenant": False}


async def test_a_valid_token_is_accepted(bed: TeamsTestbed) -> None:
    response = await bed.post(activity(bed.connector, "hi", kind="personal", mention=False))
    assert response.status_code == 200
    assert (await recorded(bed.store))["runs"] == 1


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda fake: fake.token(key=new_key()), id="forged-signature"),
        pytest.param(lambda fake: fake.token(expires_in=-3600), id="expired"),
        pytest.param(lambda fake: fake.token(audience="another-bot"), id="wrong-audience"),
        pytest.param(lambda fake: fake.token(issuer="https://sts.windows.net/evil/"), id="wrong-issuer"),
        pytest.param(lambda fake: fake.token(service_url="https://evil.example/"), id="other-service-url"),
        pytest.param(lambda fake: "not-a-jwt", id="garbage"),
    ],
)
async def test_a_bad_token_is_refused_and_nothing_is_recorded(bed: TeamsTestbed, forge: Any) -> None:
    response = await bed.post(
        activity(bed.connector, "refund everything", kind="personal"), token=forge(bed.connector)
    )
    assert response.status_code == 401
    assert await recorded(bed.store) == NOTHING
    assert bed.connector.calls("send") == []


async def test_no_token_is_refused_unless_anonymous_development_is_on(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector
) -> None:
    async with teams_service(database_url, connector, FunctionModel(echo)) as bed:
        response = await bed.post(activity(connector, "hi", kind="personal"), anonymous=True)
        assert response.status_code == 401
        assert await recorded(bed.store) == NOTHING

    dev = settings_for(connector, allow_anonymous=True)
    async with teams_service(database_url, connector, FunctionModel(echo), dev) as bed:
        assert (await bed.post(activity(connector, "hi", kind="personal"), anonymous=True)).status_code == 200
        # A token that is present is still checked.
        forged = connector.token(key=new_key())
        assert (
            await bed.post(activity(connector, "again", kind="personal"), token=forged)
        ).status_code == 401
        await bed.settle(lambda: any("You said: hi" in m.text for m in connector.conversation(PERSONAL)))
        assert (await recorded(bed.store))["runs"] == 1


async def test_a_tenant_outside_the_allowed_list_is_refused(
    database_url: str, store: ContextStore, connector: FakeTeamsConnector
) -> None:
    only_contoso = settings_for(connector, allowed_tenants=["11111111-1111-1111-1111-111111111111"])
    async with teams_service(database_url, connector, FunctionModel(echo), only_contoso) as bed:
        assert (await bed.post(activity(connector, "hi", kind="personal"))).status_code == 403
        assert await recorded(bed.store) == NOTHING


async def test_a_malformed_activity_is_a_400(bed: TeamsTestbed) -> None:
    response = await bed.http.post(
        "/api/messages", content=b"{not json", headers={"Authorization": f"Bearer {bed.connector.token()}"}
    )
    assert response.status_code == 400
    assert (await bed.post({"type": "message"})).status_code == 400


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b"\x00\xff\xfe", b"[" * 100_000, b'{"type": "message"}'],
    ids=["not-json", "array", "binary", "deeply-nested", "not-an-activity"],
)
async def test_a_request_without_a_valid_token_is_refused_before_its_body_is_parsed(
    bed: TeamsTestbed, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    forged = bed.connector.token(key=new_key())
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        response = await bed.http.post("/api/messages", content=body, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": {"code": "unauthorized", "message": "unauthorized"}}
    assert await recorded(bed.store) == NOTHING
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "malformed_json"),
        (b"\x00\xff\xfe", "malformed_json"),
        (b"[" * 100_000, "malformed_json"),
        (b"[1, 2]", "bad_request"),
        (b'{"type": "message"}', "bad_request"),
    ],
)
async def test_a_malformed_activity_with_a_valid_token_is_a_400_with_its_code(
    bed: TeamsTestbed, body: bytes, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Authorization": f"Bearer {bed.connector.token()}"}
    response = await bed.http.post("/api/messages", content=body, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert await recorded(bed.store) == NOTHING
    assert not [r for r in caplog.records if r.exc_info]


async def test_an_oversized_activity_is_a_413_before_anything_else(bed: TeamsTestbed) -> None:
    response = await bed.http.post("/api/messages", content=b"x" * (2 << 20))
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
