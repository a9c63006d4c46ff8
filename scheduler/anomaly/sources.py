"""Metric sources: where a check reads its series. Both return points oldest first.

SqlSource runs a *named* query from settings (a schedule names it and passes scalar arguments;
it never carries SQL, so a tenant cannot read another tenant's rows or write anything). The
query always receives `:tenant_id` (the schedule's) and `:limit`. It runs on its own engine —
never the context store's — inside a read-only transaction (PostgreSQL `SET TRANSACTION READ
ONLY` and `statement_timeout`; SQLite `PRAGMA query_only` and an interrupt at the deadline), and
at most `max_rows` rows are read.

HttpJsonSource GETs a URL under one of the allowed prefixes (no fetching arbitrary hosts from a
schedule), reads at most `max_response_bytes`, and picks the series out of the JSON with a
dotted path ("data.series", "results.0.points"). The value there is a list of [ts, value] pairs
or of objects with `ts_field` / `value_field`, or a single number (one point, at fire time).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from core.errors import InvalidInput, SwitchboardError
from core.store.urls import normalise_url
from scheduler.anomaly.detectors import Point

DEMO_QUERY = "demo_metric"
BUILTIN_QUERIES = {
    DEMO_QUERY: (
        "SELECT ts, value FROM demo_metrics WHERE tenant_id = :tenant_id AND name = :metric "
        "ORDER BY ts DESC LIMIT :limit"
    )
}


class SourceError(SwitchboardError):
    """The metric source failed (unreachable, timed out, answered nonsense): no verdict this time."""

    code = "metric_source_failed"


class MetricSource(Protocol):
    async def fetch(self, tenant_id: str, limit: int, now: float) -> list[Point]:
        """At most `limit` of the newest points, oldest first."""
        ...


@dataclass(frozen=True)
class Bounds:
    max_rows: int = 5000
    timeout_s: float = 5.0
    max_response_bytes: int = 1_000_000


class SqlMetrics:
    """The read-only metrics connection shared by every SQL source."""

    def __init__(self, url: str, queries: Mapping[str, str], bounds: Bounds) -> None:
        self.engine: Engine = create_engine(
            normalise_url(url), pool_size=2, max_overflow=0, pool_pre_ping=True
        )
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_read_only)
        self.queries = {**BUILTIN_QUERIES, **queries}
        self.bounds = bounds

    def source(self, query: str, args: Mapping[str, Any]) -> SqlSource:
        if query not in self.queries:
            raise InvalidInput(f"no metrics query named {query!r}; known: {', '.join(sorted(self.queries))}")
        if any(not isinstance(v, str | int | float | bool) for v in args.values()):
            raise InvalidInput("query arguments must be strings or numbers")
        if "tenant_id" in args or "limit" in args:
            raise InvalidInput("tenant_id and limit are set by the check, not by its arguments")
        return SqlSource(self, self.queries[query], dict(args))

    def close(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class SqlSource:
    metrics: SqlMetrics
    sql: str
    args: dict[str, Any]

    async def fetch(self, tenant_id: str, limit: int, now: float) -> list[Point]:
        bounds = self.metrics.bounds
        params = {**self.args, "tenant_id": tenant_id, "limit": min(limit, bounds.max_rows)}
        try:
            rows = await asyncio.to_thread(self._read, params, bounds)
        except SQLAlchemyError as exc:
            raise SourceError(f"the metrics query failed: {type(exc).__name__}: {exc}") from exc
        return sorted((_point(r[0], r[1]) for r in rows), key=lambda p: p.ts)

    def _read(self, params: dict[str, Any], bounds: Bounds) -> Sequence[Any]:
        with self.metrics.engine.connect() as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(bounds.timeout_s * 1000)}")
                return conn.execute(text(self.sql), params).fetchmany(bounds.max_rows)
            return _with_deadline(
                conn,
                bounds.timeout_s,
                lambda: conn.execute(text(self.sql), params).fetchmany(bounds.max_rows),
            )


def _sqlite_read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def _with_deadline(conn: Connection, timeout_s: float, read: Any) -> Sequence[Any]:
    """SQLite has no statement timeout: interrupt the query from its progress handler."""
    raw = conn.connection.driver_connection
    assert raw is not None  # a checked-out connection holds its driver's
    deadline = time.monotonic() + timeout_s
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        rows: Sequence[Any] = read()
        return rows
    finally:
        raw.set_progress_handler(None, 0)


@dataclass(frozen=True)
class HttpJsonSource:
    url: str
    path: str
    bounds: Bounds
    ts_field: str = "ts"
    value_field: str = "value"

    async def fetch(self, tenant_id: str, limit: int, now: float) -> list[Point]:
        timeout = aiohttp.ClientTimeout(total=self.bounds.timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(self.url) as response:
                if response.status != 200:
                    raise SourceError(f"{self.url} answered HTTP {response.status}")
                body = await response.content.read(self.bounds.max_response_bytes + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SourceError(f"{self.url} could not be read: {type(exc).__name__}") from exc
        if len(body) > self.bounds.max_response_bytes:
            raise SourceError(f"{self.url} answered more than {self.bounds.max_response_bytes} bytes")
        try:
            found = pick(json.loads(body), self.path)
        except ValueError as exc:
            raise SourceError(f"{self.url}: {exc}") from exc
        points = self._points(found, now)
        return sorted(points, key=lambda p: p.ts)[-limit:]

    def _points(self, found: Any, now: float) -> list[Point]:
        if isinstance(found, int | float) and not isinstance(found, bool):
            return [Point(now, float(found))]
        if not isinstance(found, list):
            raise SourceError(f"{self.path} in {self.url} is neither a number nor a list")
        try:
            return [
                _point(item[self.ts_field], item[self.value_field])
                if isinstance(item, dict)
                else _point(*item)
                for item in found
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceError(f"{self.path} in {self.url} holds a point without a time and a value") from exc


def pick(document: Any, path: str) -> Any:
    """The value at a dotted path: "data.series", "results.0.points" ("" is the whole document)."""
    here = document
    for part in [p for p in path.split(".") if p]:
        if isinstance(here, list) and part.lstrip("-").isdigit() and -len(here) <= int(part) < len(here):
            here = here[int(part)]
        elif isinstance(here, dict) and part in here:
            here = here[part]
        else:
            raise ValueError(f"nothing at {part!r} of the path {path!r}")
    return here


def _point(ts: Any, value: Any) -> Point:
    return Point(float(ts), float(value))
