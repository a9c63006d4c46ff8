"""`switchboard serve` with Teams configured: the composition root renders Teams runs into the
outbox, serves POST /api/messages beside the REST API, and runs the dispatcher. Without Teams
settings there is no such route."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from starlette.testclient import TestClient

from core.settings import Settings, TeamsSettings
from service.server import create_app
from tests.channels.teams.conftest import PERSONAL, activity
from tests.fakes.teams_connector import APP_ID, APP_PASSWORD, FakeTeamsConnector, new_key


def test_serve_answers_a_personal_chat_in_teams(tmp_path: Path, connector: FakeTeamsConnector) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/serve.db",
        teams=TeamsSettings(
            app_id=APP_ID,
            app_password=SecretStr(APP_PASSWORD),
            openid_metadata_url=connector.openid_url,
            token_endpoint=connector.token_url,
        ),
    )
    body = activity(connector, "where is order 42?", kind="personal", mention=False)
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/messages", json=body, headers={"Authorization": f"Bearer {connector.token()}"}
        )
        assert response.status_code == 200
        connector.wait_for(lambda: any("Order 42" in m.text for m in connector.conversation(PERSONAL)))
        connector.wait_for(lambda: connector.conversation(PERSONAL)[0].text == "✅ Done")
        forged = connector.token(key=new_key())
        assert (
            client.post("/api/messages", json=body, headers={"Authorization": f"Bearer {forged}"}).status_code
            == 401
        )
        assert client.get("/v1/runs").status_code == 401  # the REST API is still mounted after it
    progress, answer = connector.conversation(PERSONAL)
    assert answer.text.startswith("Order 42 (headphones) is shipped")


def test_without_teams_settings_there_is_no_teams_route(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/serve.db")
    assert not settings.teams.enabled and not settings.teams.allow_anonymous
    with TestClient(create_app(settings)) as client:
        assert client.post("/api/messages", json={}).status_code == 404
