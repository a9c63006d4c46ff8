"""The page itself: sign-in, the Markdown subset, and the accessibility basics (labels, real
buttons, a phone-width layout)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from service.demo import ADMIN_KEY, CUSTOMER_KEY
from tests.channels.web.page import Page

pytestmark = pytest.mark.browser

RENDER = """
const [cases, done] = arguments;
import("/static/js/markdown.js").then((m) => {
  const out = {};
  for (const [name, text] of Object.entries(cases)) {
    const box = document.createElement("div");
    box.append(m.renderMarkdown(text));
    out[name] = box.innerHTML;
  }
  done(out);
}, (error) => done({ error: String(error) }));
"""

A = 'rel="noopener noreferrer nofollow" target="_blank"'
CASES = {
    "inline": (
        "**bold**, *em*, _em_ and `a <b>`",
        "<p><strong>bold</strong>, <em>em</em>, <em>em</em> and <code>a &lt;b&gt;</code></p>",
    ),
    "fence": (
        "run:\n```sh\n<b>x</b> && y\n```\nok",
        "<p>run:</p><pre><code>&lt;b&gt;x&lt;/b&gt; &amp;&amp; y\n</code></pre><p>ok</p>",
    ),
    "breaks": ("one\ntwo\n\nthree", "<p>one<br>two</p><p>three</p>"),
    "link": (
        "[docs](https://example.com/a?b=1&c=2)",
        f'<p><a href="https://example.com/a?b=1&amp;c=2" {A}>docs</a></p>',
    ),
    "quote in url": (
        '[a](https://x.test/"onclick=alert)',
        f'<p><a href="https://x.test/%22onclick=alert" {A}>a</a></p>',
    ),
    "javascript": ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
    "javascript, mixed case": ("[x](JaVaScRiPt:alert`1`)", "<p>[x](JaVaScRiPt:alert`1`)</p>"),
    "data url": ("[x](data:text/html,hi)", "<p>[x](data:text/html,hi)</p>"),
    "relative": ("[x](/v1/runs)", "<p>[x](/v1/runs)</p>"),
    "html": (
        '<img src=x onerror="alert(1)"><script>alert(2)</script>',
        '<p>&lt;img src=x onerror="alert(1)"&gt;&lt;script&gt;alert(2)&lt;/script&gt;</p>',
    ),
    "html in bold": ("**<i>x</i>**", "<p><strong>&lt;i&gt;x&lt;/i&gt;</strong></p>"),
    "snake_case": ("use snake_case_names", "<p>use snake_case_names</p>"),
    "link in bold": (
        "**[a](http://x.test/)**",
        f'<p><strong><a href="http://x.test/" {A}>a</a></strong></p>',
    ),
}


def test_the_markdown_subset_renders_and_everything_else_stays_text(page: Page) -> None:
    page.open()
    page.find("#signin-key")
    rendered = page.driver.execute_async_script(RENDER, {name: text for name, (text, _) in CASES.items()})
    assert rendered == {name: html for name, (_, html) in CASES.items()}


def test_an_unknown_key_is_refused_and_not_kept(page: Page) -> None:
    page.open()
    page.find("#signin-key").send_keys("not-a-key")
    page.click("//button[.='Sign in']")
    page.wait_text("#signin-error", "not known")
    assert page.driver.execute_script("return sessionStorage.length") == 0


def test_the_key_lives_in_session_storage_and_sign_out_forgets_it(page: Page) -> None:
    page.sign_in(ADMIN_KEY)
    assert page.driver.execute_script("return sessionStorage.getItem('switchboard.apiKey')") == ADMIN_KEY
    assert page.driver.execute_script("return localStorage.length") == 0
    assert page.driver.find_element(By.XPATH, "//nav//a[.='Audit']").is_displayed()
    page.click("//button[.='Sign out']")
    page.find("#signin-key")
    assert page.driver.execute_script("return sessionStorage.length") == 0


def test_every_control_is_labelled_and_the_page_fits_a_phone(page: Page) -> None:
    page.driver.set_window_size(390, 844)
    page.sign_in(CUSTOMER_KEY)
    page.send("where is order 42?", bot="support")
    page.wait_status("done")
    run_id = page.hash_param("run")
    for fragment in ("#/chat", "#/runs", "#/approvals"):
        page.open(fragment)
        page.find("#who")
        unlabelled = page.driver.execute_script(
            """return [...document.querySelectorAll('input, select, textarea')]
                 .filter((e) => e.offsetParent !== null && e.labels.length === 0 && !e.getAttribute('aria-label'))
                 .map((e) => e.id || e.outerHTML);"""
        )
        assert unlabelled == [], fragment
        assert (
            page.driver.execute_script(
                "return document.querySelectorAll('[onclick], div[role=button]').length"
            )
            == 0
        )
        assert page.fits_width(), f"{fragment} scrolls sideways at 390 px"
    page.open(f"#/runs/{run_id}")
    page.find("#run-timeline .type-RunCompleted")
    assert page.fits_width(), "the inspector scrolls sideways at 390 px"
