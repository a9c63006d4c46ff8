"""`switchboard serve` on the embedded defaults (no environment at all): the ops bot is loaded, the
demo's anomaly check runs at start, and exactly one alert is there for the demo tenant, for the
page and the API to show, though no Slack is configured to post its card."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from core.settings import Settings
from service.demo import ADMIN_KEY, CUSTOMER_KEY
from service.server import create_app


def test_the_demo_alert_is_there_a_moment_after_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith(("SWITCHBOARD_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url=f"sqlite:///{tmp_path}/serve.db")
    assert settings.bots == ["bots.support:bot", "bots.ops:bot"] and not settings.slack.enabled
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(settings)) as client:
        assert [b["name"] for b in client.get("/v1/bots", headers=admin).json()["bots"]] == ["support", "ops"]
        deadline = time.monotonic() + 10
        alerts: list[dict[str, object]] = []
        while not alerts and time.monotonic() < deadline:
            alerts = client.get("/v1/alerts", headers=admin).json()["alerts"]
            time.sleep(0.1)
        [alert] = alerts
        assert alert["status"] == "open" and alert["bot"] == "ops" and alert["title"] == "Checkout latency"
        assert alert["target"] == {"surface": "slack", "channel": "C0DEMO"} and alert["notified"] is False
        assert str(alert["narration"]).startswith("checkout_latency_ms jumped to ")
        customer = client.get(
            "/v1/alerts", params={"status": "all"}, headers={"Authorization": f"Bearer {CUSTOMER_KEY}"}
        )
        assert [a["id"] for a in customer.json()["alerts"]] == [alert["id"]]  # one, and every member sees it

    with TestClient(create_app(settings)) as client:  # a restart evaluates the same data again: no new alert
        again = client.get("/v1/alerts", params={"status": "all"}, headers=admin).json()["alerts"]
        assert [a["id"] for a in again] == [alert["id"]]
