"""Fixtures for the web surface: one service and one browser for all of them, and windows of
its own for each test (each window has its own sessionStorage, so each signs in on its own).

Screenshots go to a temporary directory (or `SWITCHBOARD_TEST_ARTIFACTS`); the tracked ones in
docs/screenshots are rewritten only when asked: `SWITCHBOARD_SCREENSHOTS=docs/screenshots`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from tests.channels.web.browser import launch, page_errors, require_chromium
from tests.channels.web.page import Page
from tests.channels.web.server import REPO, ServiceProcess


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    process = ServiceProcess(tmp_path_factory.mktemp("service"))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def own_service(tmp_path: Path) -> Iterator[ServiceProcess]:
    """A service of the test's own, for tests that stop it."""
    workdir = tmp_path / "own-service"
    workdir.mkdir()
    process = ServiceProcess(workdir)
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    require_chromium()
    chrome = launch(tmp_path_factory.mktemp("profile"))
    yield chrome
    chrome.quit()


@pytest.fixture
def driver(browser: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """The shared browser in windows of the test's own: a new window starts with an empty
    sessionStorage (signed out), and the windows are closed, their streams with them, after."""
    home = browser.current_window_handle
    browser.switch_to.new_window("window")
    try:
        yield browser
        errors = page_errors(browser)
    finally:
        for handle in browser.window_handles:
            if handle != home:
                browser.switch_to.window(handle)
                browser.close()
        browser.switch_to.window(home)
    assert errors == [], "the page logged errors"


@pytest.fixture
def page(driver: webdriver.Chrome, service: ServiceProcess) -> Page:
    return Page(driver, service.url)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this run's screenshots go: never a tracked path unless the caller names one."""
    named = os.environ.get("SWITCHBOARD_TEST_ARTIFACTS")
    folder = Path(named) if named else tmp_path_factory.mktemp("artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def screenshots(artifacts: Path) -> list[Path]:
    """The folders a screenshot is saved in: the artifacts, and the documentation's folder only
    when `SWITCHBOARD_SCREENSHOTS` names it (relative paths are the repository's)."""
    docs = os.environ.get("SWITCHBOARD_SCREENSHOTS")
    return [artifacts, *([REPO / docs] if docs else [])]
