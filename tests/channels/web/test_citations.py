"""The web chat shows an answer's trailing citation lines as footnotes: a link for a web source,
the title with the path as code for a file; a source that is not http(s) is never a link."""

from __future__ import annotations

import pytest

from service.demo import CUSTOMER_KEY
from tests.channels.web.page import Page
from tests.channels.web.test_page import RENDER

pytestmark = pytest.mark.browser

A = 'rel="noopener noreferrer nofollow" target="_blank"'
CASES = {
    "cited": (
        "Use the manifest [1].\n\n[1] Connect to Slack, https://docs.example.test/slack (part 3)\n[2] README, README.md",
        '<p>Use the manifest [1].</p><ol class="footnotes">'
        f'<li value="1"><a href="https://docs.example.test/slack" {A}>Connect to Slack</a></li>'
        '<li value="2">README <code>README.md</code></li></ol>',
    ),
    "untrusted": (
        "ok\n[1] <b>x</b>, javascript:alert(1)",
        '<p>ok</p><ol class="footnotes"><li value="1">&lt;b&gt;x&lt;/b&gt; <code>javascript:alert(1)</code></li></ol>',
    ),
    "not a citation": ("see [1] below", "<p>see [1] below</p>"),
}


def test_citation_lines_become_footnotes(page: Page) -> None:
    page.open()
    page.find("#signin-key")
    rendered = page.driver.execute_async_script(RENDER, {name: text for name, (text, _) in CASES.items()})
    assert rendered == {name: html for name, (_, html) in CASES.items()}


def test_the_demo_bots_cited_answer_ends_in_footnotes(page: Page) -> None:
    page.sign_in(CUSTOMER_KEY)
    page.send("How do I connect Slack?", bot="support")
    page.wait_status("done")
    note = page.wait_text(".turn:last-child .answer ol.footnotes li", "README.md")
    assert "Switchboard" in note
    assert "[1] Switchboard" not in page.text(".turn:last-child .answer")
