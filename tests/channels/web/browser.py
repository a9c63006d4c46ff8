"""Headless Debian Chromium driven by Selenium through Debian's chromedriver: no browser download,
no Selenium Manager (both paths are given), no traffic beyond loopback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = os.environ.get("SWITCHBOARD_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SWITCHBOARD_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)


def require_chromium() -> None:
    """Skip without Chromium on a developer's machine; in CI its absence is a failure."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).is_file() and os.access(p, os.X_OK))]
    if not missing:
        return
    message = f"missing {', '.join(missing)} (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI: {message}")
    pytest.skip(message)


def launch(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(20)
    return driver


def page_errors(driver: webdriver.Chrome) -> list[str]:
    """Uncaught script errors and policy violations the console saw. Failed requests are left
    out: the page makes some on purpose (an admin probe answered 403, a refused key 401)."""
    entries = driver.get_log("browser")
    return [e["message"] for e in entries if e["level"] == "SEVERE" and e.get("source") != "network"]
