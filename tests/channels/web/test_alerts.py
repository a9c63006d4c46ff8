"""The demo's alert on the page: `serve` seeds the anomaly demo and its check raises one alert at
start; the customer sees it above the chat, acknowledges it, is refused a silence (only an admin
or the check's owner may), and starts an investigation that opens in the chat like any run."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from service.demo import CUSTOMER_KEY
from tests.channels.web.page import Page

pytestmark = pytest.mark.browser

CARD = "//article[@data-alert]"


def test_the_demo_alert_is_acknowledged_and_investigated_from_the_page(page: Page) -> None:
    page.sign_in(CUSTOMER_KEY)
    card = page.find_xpath(CARD)
    assert "Alert: Checkout latency" in card.text and "checkout_latency_ms = " in card.text
    assert "not posted: slack is not set up" in card.text  # the demo runs without Slack
    page.wait_text("article[data-alert] .outcome", "Open")
    assert len(page.driver.find_elements(By.XPATH, CARD)) == 1

    page.click(f"{CARD}//button[.='Acknowledge']")
    page.wait_text("article[data-alert] .outcome", "Acknowledged by demo-alice")
    assert not page.driver.find_elements(By.XPATH, f"{CARD}//button[.='Acknowledge']")

    page.click(f"{CARD}//button[.='Silence 1 h']")
    page.wait_text(
        "article[data-alert] .error", "Only an admin or the owner of this check can silence its alerts."
    )

    page.click(f"{CARD}//button[.='Investigate']")
    page.wait(
        "the investigation in the chat",
        lambda d: "session=alert-" in d.current_url and "run=" in d.current_url,
    )
    assert page.hash_param("bot") == "ops"
    page.wait_status("done")
    answer = page.text(".turn:last-child .answer")
    assert answer.startswith("Investigating Checkout latency")
    assert page.text(".turn:last-child .msg.user .text").startswith("Investigate alert alr_")
    page.find_xpath(f"{CARD}//a[.='open it in the chat'][contains(@href, 'run={page.hash_param('run')}')]")
    assert not page.driver.find_elements(By.XPATH, f"{CARD}//button[.='Investigate']")
