"""The Schedules and Usage pages: an admin pauses and resumes the demo's anomaly check from its
card (on a service of the test's own, so no other test meets a paused check), and a member's
usage sums their runs' tokens and cost."""

from __future__ import annotations

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from service.demo import ADMIN_KEY, CUSTOMER_KEY
from tests.channels.web.page import Page
from tests.channels.web.server import ServiceProcess

pytestmark = pytest.mark.browser

CARD = "//article[@data-schedule][.//h3[.='Checkout latency']]"


def test_an_admin_pauses_and_resumes_a_schedule(
    driver: webdriver.Chrome, own_service: ServiceProcess
) -> None:
    page = Page(driver, own_service.url)
    page.sign_in(ADMIN_KEY, "#/schedules")
    card = page.find_xpath(CARD)
    for fact in ("ops", "anomaly", "every 1 min", "slack #C0DEMO", "demo-admin"):
        assert fact in card.text, fact
    page.wait_text("article[data-schedule] .outcome", "On")

    page.click(f"{CARD}//button[.='Pause']")
    page.wait_text("#schedules-note", "Checkout latency: paused.")
    page.wait_text("article[data-schedule] .outcome", "Paused")
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    [stored] = httpx.get(own_service.url + "v1/schedules", headers=headers, timeout=10).json()["schedules"]
    assert stored["enabled"] is False

    page.click(f"{CARD}//button[.='Resume']")
    page.wait_text("#schedules-note", "Checkout latency: resumed.")
    [stored] = httpx.get(own_service.url + "v1/schedules", headers=headers, timeout=10).json()["schedules"]
    assert stored["enabled"] is True


def test_a_members_usage_sums_their_runs(page: Page) -> None:
    page.sign_in(CUSTOMER_KEY)
    page.click("//button[.='New conversation']")
    page.send("where is order 42?", bot="support")
    page.wait_status("done")
    page.click("//nav//a[.='Usage']")
    page.wait_text("#usage-note", "From your ")
    bots = {
        row.find_element(By.CSS_SELECTOR, "td").text: row.text
        for row in page.driver.find_elements(By.CSS_SELECTOR, "#usage-bots tr")
    }
    assert "support" in bots
    assert not page.driver.find_element(By.ID, "usage-users-part").is_displayed()  # an admin's part
    headers = {"Authorization": f"Bearer {CUSTOMER_KEY}"}
    runs = httpx.get(page.base_url + "v1/runs", params={"limit": 200}, headers=headers, timeout=10).json()[
        "runs"
    ]
    tokens = sum(r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"] for r in runs)
    page.wait_text("#usage-totals", str(tokens))
