"""The web surface's backend over plain HTTP: the page and its assets (with a strict content
security policy), `GET /v1/bots`, `GET /v1/runs/{id}/message`, and the startup line that tells a
newcomer where to go. No browser needed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from service.demo import ADMIN_KEY, CUSTOMER_KEY
from tests.channels.web.server import ServiceProcess


@pytest.fixture(scope="module")
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=10.0) as client:
        yield client


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_until_closed(http: httpx.Client, run_id: str, key: str) -> dict[str, object]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        run: dict[str, object] = http.get(f"/v1/runs/{run_id}", headers=auth(key)).json()
        if run["status"] in ("completed", "failed", "cancelled", "waiting_approval", "waiting_input"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not settle")


def test_the_page_is_served_at_the_root_with_a_strict_policy(http: httpx.Client) -> None:
    page = http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/static/js/main.js">' in page.text

    script = http.get("/static/js/main.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "no-cache"  # unversioned assets are revalidated
    assert http.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert http.get("/static/nope.js").status_code == 404


def test_the_api_still_answers_beside_the_page(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    assert http.get("/v1/runs").status_code == 401
    missing = http.get("/no/such/path")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_bots_are_listed_for_any_valid_key(http: httpx.Client) -> None:
    assert http.get("/v1/bots").status_code == 401
    assert http.get("/v1/bots", headers=auth("wrong")).status_code == 401
    bots = http.get("/v1/bots", headers=auth(CUSTOMER_KEY)).json()["bots"]
    assert [b["name"] for b in bots] == ["support", "ops", "echo"]  # the order settings give
    assert bots[0]["tools"] == ["lookup_order", "refund_order", "search_knowledge"] and bots[0]["description"]


def test_a_runs_message_is_read_back_by_those_who_may_see_the_run(
    http: httpx.Client, service: ServiceProcess
) -> None:
    sent = http.post(
        "/v1/runs", headers=auth(CUSTOMER_KEY), json={"bot": "echo", "message": "hi <b>there</b>"}
    )
    run_id = sent.json()["id"]
    wait_until_closed(http, run_id, CUSTOMER_KEY)

    for key in (CUSTOMER_KEY, ADMIN_KEY):
        message = http.get(f"/v1/runs/{run_id}/message", headers=auth(key))
        assert message.status_code == 200
        body = message.json()
        assert (body["run_id"], body["role"], body["content"], body["user_id"]) == (
            run_id,
            "user",
            "hi <b>there</b>",
            "demo-alice",
        )

    colleague = service.create_key("demo", "bob")
    stranger = service.create_key("elsewhere", "eve")
    for key in (colleague, stranger):
        refused = http.get(f"/v1/runs/{run_id}/message", headers=auth(key))
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert http.get(f"/v1/runs/{run_id}/message").status_code == 401
    assert http.get("/v1/runs/run_nope/message", headers=auth(CUSTOMER_KEY)).status_code == 404


def test_run_links_resolve_under_the_combined_app(http: httpx.Client) -> None:
    sent = http.post("/v1/runs", headers=auth(CUSTOMER_KEY), json={"bot": "echo", "message": "links"}).json()
    assert sent["links"] == {"self": f"/v1/runs/{sent['id']}", "events": f"/v1/runs/{sent['id']}/events"}
    listed = http.get("/v1/runs", headers=auth(CUSTOMER_KEY)).json()["runs"]
    assert any(r["id"] == sent["id"] for r in listed)


def test_startup_names_the_page_and_the_demo_keys(service: ServiceProcess) -> None:
    log = service.log()
    assert f"http://127.0.0.1:{service.port}/" in log
    assert CUSTOMER_KEY in log and ADMIN_KEY in log
