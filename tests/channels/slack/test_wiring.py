"""`switchboard serve` with Slack configured: the composition root renders Slack runs into the
outbox, mounts POST /slack/events and runs the dispatcher. Without Slack settings, the route
answers Slack's URL check only (test_setup.py) and refuses events."""

from __future__ import annotations

import json
import time
from pathlib import Path

from pydantic import SecretStr
from starlette.testclient import TestClient

from core.settings import Settings, SlackSettings
from service.server import create_app
from tests.channels.slack.conftest import SECRET, TOKEN
from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID, FakeSlackApi, sign


def test_serve_answers_a_mention_in_slack(tmp_path: Path, slack_api: FakeSlackApi) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/serve.db",
        slack=SlackSettings(
            bot_token=SecretStr(TOKEN), signing_secret=SecretStr(SECRET), api_base_url=slack_api.base_url
        ),
    )
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "event_id": "EvWIRE",
            "event_time": int(time.time()),
            "event": {
                "type": "app_mention",
                "user": "UALICE",
                "text": f"<@{BOT_USER_ID}> where is order 42?",
                "ts": "1700009000.000100",
                "channel": "C100",
            },
        }
    ).encode()
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/slack/events", content=body, headers={"Content-Type": "application/json", **sign(SECRET, body)}
        )
        assert response.status_code == 200
        slack_api.wait_for(
            lambda: any("Order 42" in m.text for m in slack_api.thread("C100", "1700009000.000100"))
        )
        assert client.post("/slack/events", content=body, headers=sign("forged", body)).status_code == 401
    status, answer = slack_api.thread("C100", "1700009000.000100")
    assert answer.text.startswith("Order 42 (headphones) is shipped")
    assert status.text == ":white_check_mark: Done"


def test_without_slack_settings_slack_events_are_refused(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/serve.db")
    with TestClient(create_app(settings)) as client:
        assert client.post("/slack/events", content=b"{}").status_code == 404
