"""The refund demo end to end with two keys: the customer answers the bot's question and cannot
approve the refund; an admin approves it in the pending-approvals view; the customer's chat goes
on to the answer. Then the run inspector shows what happened. Screenshots of both are kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from service.demo import ADMIN_KEY, CUSTOMER_KEY
from tests.channels.web.page import Page

pytestmark = pytest.mark.browser


def test_the_refund_demo_with_a_customer_and_an_admin(page: Page, screenshots: list[Path]) -> None:
    customer = page
    customer.sign_in(CUSTOMER_KEY)
    assert not customer.find_xpath("//nav//a[.='Approvals']").get_attribute("hidden")
    assert not customer.driver.find_element(
        By.XPATH, "//nav//a[.='Audit']"
    ).is_displayed()  # members have none

    customer.send("please refund order 42", bot="support")
    customer.wait_status("waiting for your answer")
    customer.click("//article[@data-question]//button[.='defective']")
    customer.wait_status("waiting for an admin's approval")
    run_id = customer.hash_param("run")
    card = customer.find("article[data-approval]")
    assert "refund_order" in card.text and '"order_id": 42' in card.text and "admin" in card.text
    assert not card.find_elements(By.TAG_NAME, "button")  # the customer may not decide it

    admin = customer.another_window()
    admin.sign_in(ADMIN_KEY, "#/approvals")
    approve = f"//article[.//a[.='{run_id}']]//button[.='Approve']"
    admin.find_xpath(approve)
    admin.click(approve)
    admin.wait_text("#approvals-note", "refund_order for demo-alice: approved")

    customer.focus()
    customer.wait_status("done")
    answer = customer.text(".turn:last-child .answer")
    assert answer.startswith("Done: I refunded 59.9 for order 42")
    customer.wait_text("article[data-approval] .outcome", "Approved by demo-admin")
    customer.show_whole_page(1100, 1250)
    customer.screenshot(*(folder / "chat.png" for folder in screenshots))

    # The admin inspects the run: every event, with the decision, who made it and when.
    admin.focus()
    admin.open(f"#/runs/{run_id}")
    admin.find("#run-timeline .type-RunCompleted")
    timeline = admin.text("#run-timeline")
    for expected in (
        "RunCreated",
        "ModelResponded",
        "ToolCallSucceeded",
        "QuestionAsked",
        "QuestionAnswered",
        "ApprovalRequested",
        "ApprovalDecided",
        "RunCompleted",
        "lookup_order",
        "refund_order",
        "prompt + ",
        "Duration",
    ):
        assert expected in timeline, expected
    decided = admin.text("#run-timeline .type-ApprovalDecided")
    assert "approved" in decided and "demo-admin" in decided
    seqs = [
        int(e.get_attribute("data-seq") or 0)
        for e in admin.driver.find_elements(By.CSS_SELECTOR, "#run-timeline li")
    ]
    assert seqs == list(range(1, len(seqs) + 1))  # every event, in order
    admin.show_whole_page(1100, 1400)
    admin.screenshot(*(folder / "inspector.png" for folder in screenshots))

    # The runs list filters by status, bot and user; the audit log has the decision.
    admin.open("#/runs")
    admin.find(f"tr[data-run='{run_id}']")
    admin.find("#runs-user")
    admin.open("#/audit")
    admin.find("#audit-run").send_keys(run_id)
    admin.click("//button[.='Filter']")
    admin.wait_text("#audit-body", "approval.approved")


def test_a_member_sees_no_audit_log_and_only_their_own_runs(page: Page) -> None:
    page.sign_in(CUSTOMER_KEY, "#/audit")
    page.find("#view-chat")  # an admin-only view falls back to the chat
    page.open("#/runs")
    page.wait_text("#runs-note", "run")
    users = {e.text for e in page.driver.find_elements(By.CSS_SELECTOR, "#runs-body td:nth-child(4)")}
    assert users <= {"demo-alice"}
    assert not page.driver.find_element(By.ID, "runs-user-field").is_displayed()


def test_a_waiting_run_is_cancelled_from_the_inspector(page: Page) -> None:
    page.sign_in(CUSTOMER_KEY)
    page.send("please refund order 42", bot="support")
    page.wait_status("waiting for your answer")
    run_id = page.hash_param("run")

    page.open(f"#/runs/{run_id}")
    page.wait_text("#run-pending", "Waiting for demo-alice to answer")  # the pending question, inline
    page.click("//button[.='Cancel run']")
    page.wait_text("#run-summary", "cancelled")
    page.find("#run-timeline .type-RunCancelled")
    assert not page.driver.find_elements(By.XPATH, "//button[.='Cancel run']")

    page.click("//nav//a[.='Chat']")
    page.wait_status("cancelled")
    page.wait_text("article[data-question] .outcome", "Question cancelled")  # no buttons left to press
    assert not page.driver.find_elements(By.XPATH, "//article[@data-question]//button")
