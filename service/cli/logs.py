"""Logging for the long-running commands (serve, worker, scheduler, Discord gateway): one
format, and the HTTP clients' line per request kept out (at a model call per step, writing
them cost a worker more CPU than some steps did)."""

from __future__ import annotations

import logging

_PER_REQUEST = ("httpx", "httpx2", "httpcore", "httpcore2")


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for name in _PER_REQUEST:
        logging.getLogger(name).setLevel(logging.WARNING)
