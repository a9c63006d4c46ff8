"""The API reference at /docs: the vendored Swagger UI draws the served /openapi.json, with
nothing loaded from another origin (it must work with no network)."""

from __future__ import annotations

import httpx
import pytest

from tests.channels.web.page import Page
from tests.channels.web.server import ServiceProcess

OTHER_ORIGINS = """
return performance.getEntriesByType("resource").map((e) => e.name)
  .filter((url) => !url.startsWith(location.origin));
"""


def test_the_docs_page_and_its_assets_are_served_from_here(service: ServiceProcess) -> None:
    with httpx.Client(base_url=service.url, timeout=10.0) as http:
        page = http.get("/docs")
        assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"):
            assert http.get(f"/static/vendor/swagger-ui/{asset}").status_code == 200, asset


@pytest.mark.browser
def test_swagger_ui_draws_the_openapi_document(page: Page) -> None:
    page.open("docs")
    page.wait_text(".swagger-ui .info .title", "Switchboard API")
    operations = page.wait_text(".swagger-ui", "/v1/sessions/{session_id}/messages")
    assert "/v1/runs" in operations and "/v1/me" in operations
    page.find("button.authorize")  # an API key can be given to try the routes
    assert page.driver.execute_script(OTHER_ORIGINS) == []
