"""The chat shows an answer as the model generates it: `switchboard serve` with the offline demo
model, which streams a word every few milliseconds, in a real browser. What the page showed on
the way is recorded by a MutationObserver, so no poll can miss it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from service.demo import CUSTOMER_KEY
from tests.channels.web.page import Page
from tests.channels.web.server import ServiceProcess

pytestmark = pytest.mark.browser

MESSAGE = " ".join(f"streamed{i}" for i in range(60))

RECORD_DRAFTS = """
window.__drafts = [];
new MutationObserver(() => {
  const draft = document.querySelector("#chat-log .turn:last-child .answer.live .streaming");
  if (draft) window.__drafts.push(draft.textContent);
}).observe(document.getElementById("chat-log"), { childList: true, subtree: true, characterData: true });
"""


@pytest.fixture
def paced_service(tmp_path: Path) -> Iterator[ServiceProcess]:
    """A service of its own whose demo model pauses between words, as a real model does."""
    workdir = tmp_path / "paced-service"
    workdir.mkdir()
    process = ServiceProcess(workdir)
    process._env["SWITCHBOARD_MODEL__DEMO_TOKEN_MS"] = "15"
    process.start()
    yield process
    process.stop()


def test_the_answer_appears_as_it_is_generated_then_the_committed_answer_replaces_it(
    driver: webdriver.Chrome, paced_service: ServiceProcess
) -> None:
    page = Page(driver, paced_service.url)
    page.sign_in(CUSTOMER_KEY)
    page.driver.execute_script(RECORD_DRAFTS)
    page.send(MESSAGE, bot="echo")

    page.wait_status("done")
    answer = page.find("#chat-log .turn:last-child .answer")
    assert answer.text == MESSAGE
    assert "live" not in (answer.get_attribute("class") or "")
    assert not page.driver.find_elements(By.CSS_SELECTOR, "#chat-log .streaming")
    drafts: list[str] = page.driver.execute_script("return window.__drafts")
    partial = [d for d in drafts if d and d != MESSAGE]
    assert len(set(partial)) >= 3, f"the answer did not grow on screen: {drafts[:5]}"
    assert all(MESSAGE.startswith(d) for d in drafts), "every draft is a prefix of the answer"
