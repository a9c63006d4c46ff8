"""The chat in a real browser against the real service: a streamed answer, a reload in the middle
of a run, a server crash in the middle of a run, and model output that tries to inject markup."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from service.demo import ADMIN_KEY, CUSTOMER_KEY
from tests.channels.web.page import Page
from tests.channels.web.server import ServiceProcess

pytestmark = pytest.mark.browser

XSS = (
    '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> '
    "[click me](javascript:window.__xss=3) [data](data:text/html,hi) **bold** [docs](https://example.com/docs)"
)


def test_a_question_about_an_order_is_answered_live(page: Page) -> None:
    page.sign_in(CUSTOMER_KEY)
    page.send("where is order 42?", bot="support")

    page.wait_status("done")
    answer = page.text(".turn:last-child .answer")
    assert "Order 42 (headphones) is shipped" in answer
    assert page.text(".turn:last-child .msg.user .text") == "where is order 42?"
    # The run's events arrived over the stream: the status line went through the tool call.
    assert page.hash_param("run").startswith("run_")


def test_a_reload_in_the_middle_of_a_run_shows_the_same_run_and_it_goes_on(page: Page) -> None:
    page.sign_in(CUSTOMER_KEY)
    page.send("please refund order 42", bot="support")
    page.wait_status("waiting for your answer")
    run_id = page.hash_param("run")

    page.reload()

    assert page.hash_param("run") == run_id
    page.wait_text(".turn .msg.user", "please refund order 42")  # read back from the API
    page.wait_status("waiting for your answer")
    page.click("//article[@data-question]//button[.='wrong item']")
    page.wait_status("waiting for an admin's approval")
    page.wait_text("article[data-question] .outcome", "Answered “wrong item” by demo-alice")

    page.reload()  # and once more while it waits for someone else

    page.wait_status("waiting for an admin's approval")
    page.wait_text("article[data-approval] .outcome", "Waiting for an admin other than the requester")
    assert not page.driver.find_elements(By.XPATH, "//button[.='Approve']")


def test_a_conversation_continues_in_its_session(page: Page) -> None:
    page.sign_in(CUSTOMER_KEY)
    page.send("hello", bot="support")
    page.wait_status("done")
    page.send("where is order 7?")
    two_answers = answers(2)
    page.wait("the second answer", two_answers)
    run_id = page.hash_param("run")

    page.reload()

    page.wait("both turns redrawn", two_answers)
    turns = page.driver.find_elements(By.CSS_SELECTOR, "#chat-log .turn .msg.user .text")
    assert [t.text for t in turns] == ["hello", "where is order 7?"]

    page.click("//nav//a[.='Runs']")
    page.find(f"tr[data-run='{run_id}']")
    page.click("//nav//a[.='Chat']")  # back to the same conversation, not a new one
    page.wait("both turns still there", two_answers)
    assert page.hash_param("run") == run_id


def test_signing_out_and_in_again_lists_and_reopens_past_conversations(page: Page) -> None:
    page.sign_in(CUSTOMER_KEY)
    assert page.text("#who").startswith("alice (demo-alice)")
    assert "Demo shop" in page.text("#who-tenant") and page.text("#who-role") == "member"
    assert not page.driver.find_elements(By.CSS_SELECTOR, "#chat-session, [id*=session-key]")  # no raw key
    page.click("//button[.='New conversation']")
    page.send("where is order 7?", bot="support")
    page.wait_status("done")
    first = page.hash_param("run")
    page.click("//button[.='New conversation']")
    page.send("hello again", bot="support")
    page.wait_status("done")

    page.click("//button[.='Sign out']")
    page.find("#signin-key").send_keys(CUSTOMER_KEY)
    page.click("//button[.='Sign in']")
    titles = "#chat-sessions .title"
    page.wait_text(titles, "where is order 7?")
    listed = [e.text for e in page.driver.find_elements(By.CSS_SELECTOR, titles)]
    assert listed.index("hello again") < listed.index("where is order 7?")  # newest first

    page.click("//ul[@id='chat-sessions']//a[.//span[.='where is order 7?']]")
    page.wait("the old conversation", answers(1))
    assert [e.text for e in page.driver.find_elements(By.CSS_SELECTOR, "#chat-log .msg.user .text")] == [
        "where is order 7?"
    ]
    assert page.hash_param("run") == first
    page.send("and order 8?")  # it goes on where it was
    page.wait("the second answer", answers(2))
    page.wait_text("#chat-sessions a[aria-current]", "2 messages")


def answers(count: int) -> Callable[[webdriver.Chrome], bool | None]:
    def shown(d: webdriver.Chrome) -> bool | None:
        return len(d.find_elements(By.CSS_SELECTOR, "#chat-log .turn .answer p")) == count or None

    return shown


def test_markup_in_model_output_is_shown_as_text_and_never_runs(page: Page) -> None:
    page.sign_in(CUSTOMER_KEY)
    page.send(XSS, bot="echo")
    page.wait_status("done")

    answer = page.find(".turn:last-child .answer")
    assert "<img src=x" in answer.text and "<script>" in answer.text
    assert "[click me](javascript:window.__xss=3)" in answer.text
    assert not answer.find_elements(By.CSS_SELECTOR, "img, script, iframe, object")
    links = answer.find_elements(By.TAG_NAME, "a")
    assert [a.get_attribute("href") for a in links] == ["https://example.com/docs"]
    assert answer.find_element(By.TAG_NAME, "strong").text == "bold"
    assert page.driver.execute_script("return window.__xss") is None

    # The inspector renders the same model output: inert there too.
    page.click("//a[.='Inspect run']")
    page.find("#run-timeline .type-RunCompleted")
    timeline = page.find("#run-timeline")
    assert not timeline.find_elements(By.CSS_SELECTOR, "img, script, iframe, object")
    assert all(
        (a.get_attribute("href") or "").startswith("https://")
        for a in timeline.find_elements(By.CSS_SELECTOR, ".md a")
    )
    assert page.driver.execute_script("return window.__xss") is None


def test_the_chat_follows_a_run_across_a_server_crash(
    own_service: ServiceProcess, driver: webdriver.Chrome
) -> None:
    service = own_service
    page = Page(driver, service.url)
    page.sign_in(CUSTOMER_KEY)
    page.send("please refund order 42", bot="support")
    page.click("//article[@data-question]//button[.='defective']")
    page.wait_status("waiting for an admin's approval")

    service.kill()
    page.wait_status("reconnecting")
    service.start()

    admin = page.another_window()
    admin.sign_in(ADMIN_KEY, "#/approvals")
    admin.click("//button[.='Approve']")
    admin.wait_text("#approvals-note", "approved")

    page.focus()
    page.wait_status("done", timeout=20)
    assert "Done: I refunded 59.9 for order 42" in page.text(".turn:last-child .answer")
