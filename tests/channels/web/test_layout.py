"""The control plane at a phone's width (390 px) and a laptop's (1280 px), in a real browser:
no page scrolls sideways, the header says who is signed in, the sticky message box never covers
the approval card, the Runs table does not break its ids letter by letter, and the inspector's
waterfall shows every step with a duration."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from service.demo import ADMIN_KEY, CUSTOMER_KEY
from tests.channels.web.page import Page

pytestmark = pytest.mark.browser

# Whether the element's centre is on screen and the topmost thing there is the element itself.
UNCOVERED = """
const e = arguments[0], r = e.getBoundingClientRect();
const x = r.left + r.width / 2, y = r.top + r.height / 2;
if (r.height === 0 || y < 0 || y > innerHeight || x < 0 || x > innerWidth) return "off screen";
const top = document.elementFromPoint(x, y);
return e.contains(top) ? "" : `covered by ${top.id || top.className || top.tagName}`;
"""
LINES = "return arguments[0].getClientRects().length"


def uncovered(page: Page, css: str) -> str:
    element = page.find(css)
    return str(page.driver.execute_script(UNCOVERED, element))


def fits(page: Page, where: str) -> None:
    width = page.driver.execute_script("return [document.documentElement.scrollWidth, innerWidth]")
    assert page.fits_width(), f"{where} scrolls sideways: {width}"


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 900)], ids=["phone", "laptop"])
def test_the_control_plane_fits_and_nothing_is_covered(page: Page, width: int, height: int) -> None:
    page.driver.set_window_size(width, height)
    page.sign_in(CUSTOMER_KEY)
    for css in ("#who-name", "#who-tenant", "#nav", "#chat-message", "#chat-send"):
        assert page.find(css).is_displayed(), css
    page.click("//button[.='New conversation']")
    page.send("please refund order 42", bot="support")
    page.wait_status("waiting for your answer")
    page.click("//article[@data-question]//button[.='defective']")
    page.wait_status("waiting for an admin's approval")
    page.find("article[data-approval] .outcome")
    # As the chat left it, without scrolling here: the card's heading and outcome are in view.
    page.wait(
        "the approval card in view, above the message box",
        lambda d: not uncovered(page, "article[data-approval] .outcome") or None,
    )
    assert uncovered(page, "article[data-approval] h3") == ""
    fits(page, "the chat")
    run_id = page.hash_param("run")

    page.click("//nav//a[.='Runs']")
    link = page.find(f"tr[data-run='{run_id}'] a")
    assert page.driver.execute_script(LINES, link) <= 2, "the run id breaks letter by letter"
    assert link.size["width"] > 150
    fits(page, "the runs")

    admin = page.another_window()
    admin.driver.set_window_size(width, height)
    admin.sign_in(ADMIN_KEY, "#/approvals")
    admin.click(f"//article[.//a[.='{run_id}']]//button[.='Approve']")
    admin.wait_text("#approvals-note", "approved")
    fits(admin, "the approvals")

    admin.open(f"#/runs/{run_id}")
    admin.find("#run-timeline .type-RunCompleted")
    admin.wait_text("#run-waterfall", "refund_order")
    waterfall = admin.text("#run-waterfall")
    for step in (
        "queued",
        "model call",
        "lookup_order",
        "question for demo-alice",
        "approval of refund_order",
    ):
        assert step in waterfall, step
    rows = admin.driver.find_elements(By.CSS_SELECTOR, "#run-waterfall .wf-ms")
    assert rows and all(r.text.endswith(("ms", " s")) for r in rows)
    assert "undefined" not in admin.text("#view-run")  # ask_user has no duration of its own
    fits(admin, "the inspector")

    for view, ready in (
        ("#/alerts", "article[data-alert]"),
        ("#/schedules", "article[data-schedule]"),
        ("#/usage", "#usage-bots tr"),
        ("#/audit", "#audit-body tr"),
    ):
        admin.open(view)
        admin.find(ready)
        fits(admin, view)
