"""The long-running commands' logging: the HTTP clients' line per request stays out."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from service.cli.logs import configure_logging


@pytest.fixture
def restored_levels() -> Iterator[None]:
    names = ("httpx", "httpx2", "httpcore", "httpcore2")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_model_requests_are_not_logged_one_line_each(restored_levels: None) -> None:
    configure_logging()
    assert not logging.getLogger("httpx2").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx2").isEnabledFor(logging.WARNING)  # their failures still are
