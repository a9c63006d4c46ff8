"""The page as a person uses it: sign in, pick a bot, send, click the buttons on cards. Every wait
is bounded; a failed wait names what it waited for and what the page showed instead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT_S = 15.0
T = TypeVar("T")


class Page:
    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url
        self.handle = driver.current_window_handle

    def another_window(self) -> Page:
        """A second window of the same browser: its own sessionStorage, so its own key."""
        self.driver.switch_to.new_window("window")
        return Page(self.driver, self.base_url)

    def focus(self) -> Page:
        self.driver.switch_to.window(self.handle)
        return self

    def wait(
        self, what: str, condition: Callable[[webdriver.Chrome], T | None], timeout: float = WAIT_S
    ) -> T:
        try:
            # A card redrawn while the condition reads it is read again at the next poll.
            waiting = WebDriverWait(
                self.driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
            )
            result = waiting.until(condition)
        except TimeoutException:
            status = self.driver.execute_script("return document.getElementById('chat-status')?.textContent")
            raise AssertionError(
                f"timed out waiting for {what}; chat status: {status!r}; url: {self.driver.current_url}"
            ) from None
        assert result is not None  # `until` returns only a truthy value
        return result

    def find(self, css: str) -> WebElement:
        return self.wait(f"element {css}", lambda d: _visible(d.find_elements(By.CSS_SELECTOR, css)))

    def find_xpath(self, xpath: str) -> WebElement:
        return self.wait(f"element {xpath}", lambda d: _visible(d.find_elements(By.XPATH, xpath)))

    def click(self, xpath: str) -> None:
        element = self.find_xpath(xpath)
        self.wait(f"{xpath} enabled", lambda d: element.is_enabled() or None)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def open(self, fragment: str = "") -> None:
        self.driver.get(self.base_url + fragment)

    def sign_in(self, key: str, fragment: str = "") -> None:
        self.open(fragment)
        self.find("#signin-key").send_keys(key)
        self.click("//button[.='Sign in']")
        self.find("#who")

    def reload(self) -> None:
        self.driver.refresh()
        self.find("#who")  # signed in again from sessionStorage

    def send(self, text: str, bot: str | None = None) -> None:
        if bot is not None:
            Select(self.find("#chat-bot")).select_by_value(bot)
        box = self.find("#chat-message")
        box.clear()
        box.send_keys(text)
        self.click("//button[.='Send']")

    def text(self, css: str) -> str:
        return self.find(css).text

    def wait_text(self, css: str, expected: str, timeout: float = WAIT_S) -> str:
        def shown(d: webdriver.Chrome) -> str | None:
            found = [e.text for e in d.find_elements(By.CSS_SELECTOR, css)]
            return next((t for t in found if expected in t), None)

        return self.wait(f"{expected!r} in {css}", shown, timeout)

    def wait_status(self, expected: str, timeout: float = WAIT_S) -> str:
        return self.wait_text("#chat-status", expected, timeout)

    def hash_param(self, name: str) -> str:
        query = urlsplit(self.driver.current_url).fragment.partition("?")[2]
        return parse_qs(query)[name][0]

    def screenshot(self, *paths: Path) -> None:
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(path))

    def show_whole_page(self, width: int, height: int) -> None:
        """A window big enough for a screenshot that tells the story, scrolled to the top."""
        self.driver.set_window_size(width, height)
        self.driver.execute_script("window.scrollTo(0, 0)")

    def fits_width(self) -> bool:
        return bool(
            self.driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        )


def _visible(elements: list[WebElement]) -> WebElement | None:
    return next((e for e in elements if e.is_displayed()), None)
