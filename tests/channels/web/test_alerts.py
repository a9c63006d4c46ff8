"""The demo's alert on its own page: `serve` seeds the anomaly demo and its check raises one alert
at start. The Alerts page is for those who may act on it (an admin, or the check's owner): the
customer's chat shows no alert and offers no Alerts page; the admin acknowledges the alert,
starts an investigation that opens in the chat like any run, and silences it."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from service.demo import ADMIN_KEY, CUSTOMER_KEY
from tests.channels.web.page import Page

pytestmark = pytest.mark.browser

CARD = "//article[@data-alert]"


def test_a_customer_sees_no_alerts_in_their_chat(page: Page) -> None:
    page.sign_in(CUSTOMER_KEY)
    page.wait_status("Say something to start.")
    assert not page.driver.find_elements(By.XPATH, CARD)
    assert not page.driver.find_element(By.XPATH, "//nav//a[.='Alerts']").is_displayed()
    page.open("#/alerts")
    page.find("#view-chat")  # not theirs to open: back to the chat
    assert not page.driver.find_elements(By.XPATH, CARD)


def test_the_demo_alert_is_acknowledged_investigated_and_silenced_on_the_alerts_page(page: Page) -> None:
    page.sign_in(ADMIN_KEY)
    page.click("//nav//a[.='Alerts']")
    card = page.find_xpath(CARD)
    assert "Alert: Checkout latency" in card.text and "checkout_latency_ms = " in card.text
    assert "not posted: slack is not set up" in card.text  # the demo runs without Slack
    page.wait_text("article[data-alert] .outcome", "Open")
    assert len(page.driver.find_elements(By.XPATH, CARD)) == 1

    page.click(f"{CARD}//button[.='Acknowledge']")
    page.wait_text("article[data-alert] .outcome", "Acknowledged by demo-admin")
    assert not page.driver.find_elements(By.XPATH, f"{CARD}//button[.='Acknowledge']")

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
    run_id = page.hash_param("run")
    assert not [e for e in page.driver.find_elements(By.XPATH, CARD) if e.is_displayed()]  # not in the chat

    page.click("//nav//a[.='Alerts']")
    page.find_xpath(f"{CARD}//a[.='open it in the chat'][contains(@href, 'run={run_id}')]")
    assert not page.driver.find_elements(By.XPATH, f"{CARD}//button[.='Investigate']")
    page.click(f"{CARD}//button[.='Silence 1 h']")
    page.wait_text("article[data-alert] .outcome", "silenced by demo-admin until")
