"""The Knowledge page: a member searches the demo docs (results with citations), uploads a file
into a private namespace of their own (made on the way) and sees it listed, and a bad file is
reported with why; the admin's documents list of that private namespace is refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from service.demo import ADMIN_KEY, CUSTOMER_KEY
from tests.channels.web.page import Page
from tests.channels.web.server import ServiceProcess

pytestmark = pytest.mark.browser


def test_search_upload_and_list_on_the_knowledge_page(
    driver: webdriver.Chrome, own_service: ServiceProcess, tmp_path: Path
) -> None:
    page = Page(driver, own_service.url)
    page.sign_in(CUSTOMER_KEY, "#/knowledge")
    page.find_xpath("//article[@data-namespace='switchboard-docs']")
    driver.find_element(By.ID, "knowledge-query").send_keys("how do I connect Slack?")
    page.click("//form[@id='knowledge-search']//button")
    hit = page.find_xpath("//div[@id='knowledge-results']//article[@data-source='README.md']")
    assert "[1]" in page.text("#knowledge-results h3") and "README.md" in hit.text

    runbook = tmp_path / "restart.md"
    runbook.write_text("# Restart\n\nRestart the worker with systemctl restart switchboard.\n")
    blob = tmp_path / "blob.txt"
    blob.write_bytes(b"\x00\x01binary")
    driver.find_element(By.ID, "knowledge-target").send_keys("alice-runbooks")
    driver.find_element(By.ID, "knowledge-files").send_keys(f"{runbook}\n{blob}")
    page.click("//form[@id='knowledge-upload']//button")
    page.wait_text("#knowledge-note", "Not ingested: blob.txt: this is a binary file, not text")
    card = "//article[@data-namespace='alice-runbooks']"
    page.click(f"{card}//button[.='Documents']")
    listed = page.find_xpath(f"{card}//li[@data-source='restart.md']")
    assert "ready, 1 chunk(s)" in listed.text

    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    theirs = httpx.get(
        own_service.url + "v1/knowledge/namespaces/alice-runbooks/documents", headers=admin, timeout=10
    )
    assert theirs.status_code == 404
