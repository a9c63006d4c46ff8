"""`GET /healthz`: does the store answer a trivial query? No auth; says nothing about the database
beyond yes or no (the reason goes to the log)."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response

from channels.api.errors import RETRY_AFTER_S, json_response
from channels.api.schemas import ErrorDetail, Health
from core.errors import SwitchboardError
from core.store.database import Database

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0


async def probe(db: Database, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """None when the store answers; otherwise why not."""
    try:
        await db.ping(timeout_s)
    except TimeoutError:
        return f"no answer within {timeout_s} s"
    except (SwitchboardError, SQLAlchemyError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class HealthEndpoint:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def check(self, request: Request) -> Response:
        problem = await probe(self._db)
        if problem is None:
            return json_response(Health(status="ok"), exclude_none=True)
        log.warning("health check failed: %s", problem, extra={"surface": "api"})
        error = ErrorDetail(code="store_unavailable", message="the store did not answer")
        return json_response(
            Health(status="unavailable", error=error), 503, {"Retry-After": str(RETRY_AFTER_S)}
        )
