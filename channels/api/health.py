"""`GET /healthz`: does the store answer a trivial query? No auth; says nothing about the database
beyond yes or no (the reason goes to the log)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response

from channels.api.errors import RETRY_AFTER_S, json_response
from channels.api.schemas import ErrorDetail, Health
from core.errors import SwitchboardError

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0

Ping = Callable[[float], Awaitable[None]]  # asks the store a trivial query within a timeout (s)


async def probe(ping: Ping, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """None when the store answers; otherwise why not."""
    try:
        await ping(timeout_s)
    except TimeoutError:
        return f"no answer within {timeout_s} s"
    except (SwitchboardError, SQLAlchemyError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class HealthEndpoint:
    def __init__(self, ping: Ping) -> None:
        self._ping = ping

    async def check(self, request: Request) -> Response:
        problem = await probe(self._ping)
        if problem is None:
            return json_response(Health(status="ok"), exclude_none=True)
        log.warning("health check failed: %s", problem, extra={"surface": "api"})
        error = ErrorDetail(code="store_unavailable", message="the store did not answer")
        return json_response(
            Health(status="unavailable", error=error), 503, {"Retry-After": str(RETRY_AFTER_S)}
        )
