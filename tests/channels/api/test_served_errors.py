"""Every answer of the served app (`switchboard serve`) is the API's JSON error shape, also for
requests that no route of the API takes: a path the API's mount cannot match (an encoded newline
in an id), a path nothing serves, a method a page route does not allow."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from core.settings import Settings
from service.demo import CUSTOMER_KEY
from service.server import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as env:
        for name in [k for k in os.environ if k.startswith(("SWITCHBOARD_", "OPENAI_"))]:
            env.delenv(name)
        where: Path = tmp_path_factory.mktemp("served")
        env.chdir(where)
        with TestClient(create_app(Settings(database_url=f"sqlite:///{where}/served.db"))) as client:
            yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/runs/%0Arun"),
        ("GET", "/v1/runs/run%0A/events"),
        ("POST", "/v1/approvals/%0Aapr"),
        ("GET", "/nowhere"),
        ("GET", "/nowhere%0A"),
        ("GET", "/static/nowhere.js"),
        ("POST", "/"),
    ],
)
def test_requests_no_route_takes_get_the_json_error_shape(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, headers={"Authorization": f"Bearer {CUSTOMER_KEY}"})
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json", response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["code"] and error["message"]


def test_the_page_and_the_api_still_answer(client: TestClient) -> None:
    assert client.get("/").headers["content-type"].startswith("text/html")
    bots = client.get("/v1/bots", headers={"Authorization": f"Bearer {CUSTOMER_KEY}"})
    assert bots.status_code == 200 and bots.json()["bots"]
