"""Metric sources: the SQL source on the seeded demo table (SQLite and PostgreSQL), read-only and
bounded; the HTTP JSON source against a local aiohttp server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from core.errors import InvalidInput
from core.store.context import ContextStore
from core.store.schema import demo_metrics
from scheduler.anomaly.demo import METRIC, demo_series, seed_demo_metrics
from scheduler.anomaly.handler import Sources
from scheduler.anomaly.sources import DEMO_QUERY, Bounds, SourceError, SqlMetrics, pick
from scheduler.anomaly.spec import HttpSourceSpec
from tests.conftest import TenantFixture, make_tenant

END = 1_800_000_000.0
SLOW = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x), 0 FROM c",
    "postgresql": "SELECT 1, pg_sleep(10)",
}


@pytest.fixture
async def metrics(database_url: str, store: ContextStore) -> AsyncIterator[SqlMetrics]:
    queries = {"wipe": "DELETE FROM demo_metrics", "slow": SLOW[store.engine.dialect.name]}
    sql = SqlMetrics(database_url, queries, Bounds(max_rows=1000, timeout_s=0.5))
    yield sql
    sql.close()


async def test_sql_source_reads_the_tenants_series_oldest_first(
    store: ContextStore, tenant: TenantFixture, metrics: SqlMetrics
) -> None:
    other = await make_tenant(store, "other")
    assert await seed_demo_metrics(store, tenant.id, END) == len(demo_series(END))
    assert await seed_demo_metrics(store, tenant.id, END) == 0  # seeded once
    await seed_demo_metrics(store, other.id, END + 3600)

    points = await metrics.source(DEMO_QUERY, {"metric": METRIC}).fetch(tenant.id, 200, END)
    assert points == demo_series(END)
    latest = await metrics.source(DEMO_QUERY, {"metric": METRIC}).fetch(tenant.id, 5, END)
    assert latest == demo_series(END)[-5:]


async def test_sql_source_is_read_only_and_bounded(
    database_url: str, store: ContextStore, tenant: TenantFixture, metrics: SqlMetrics
) -> None:
    await seed_demo_metrics(store, tenant.id, END)
    with pytest.raises(SourceError):
        await metrics.source("wipe", {}).fetch(tenant.id, 10, END)
    count = select(func.count()).select_from(demo_metrics)
    assert await store.db.run(lambda conn: conn.execute(count).scalar_one()) == len(demo_series(END))

    started = time.monotonic()
    with pytest.raises(SourceError):
        await metrics.source("slow", {}).fetch(tenant.id, 10, END)
    assert time.monotonic() - started < 5

    small = SqlMetrics(database_url, {}, Bounds(max_rows=7))
    try:
        assert len(await small.source(DEMO_QUERY, {"metric": METRIC}).fetch(tenant.id, 200, END)) == 7
    finally:
        small.close()


async def test_sql_source_takes_only_named_queries_and_scalar_arguments(metrics: SqlMetrics) -> None:
    with pytest.raises(InvalidInput, match="no metrics query"):
        metrics.source("DROP TABLE demo_metrics", {})
    with pytest.raises(InvalidInput, match="set by the check"):
        metrics.source(DEMO_QUERY, {"tenant_id": "someone-else"})
    with pytest.raises(InvalidInput):
        metrics.source(DEMO_QUERY, {"metric": ["a", "b"]})  # type: ignore[dict-item]


@pytest.fixture
async def http_metrics() -> AsyncIterator[str]:
    async def series(request: web.Request) -> web.Response:
        return web.json_response(
            {"data": {"series": [{"t": 3, "v": 30}, {"t": 1, "v": 10}, {"t": 2, "v": 20}]}}
        )

    async def pairs(request: web.Request) -> web.Response:
        return web.json_response({"results": [{"points": [[1, 1.5], [2, 2.5]]}]})

    async def scalar(request: web.Request) -> web.Response:
        return web.json_response({"value": 42})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=503)

    async def huge(request: web.Request) -> web.Response:
        return web.json_response({"pad": "x" * 5000})

    app = web.Application()
    for path, handler in [
        ("/series", series),
        ("/pairs", pairs),
        ("/scalar", scalar),
        ("/broken", broken),
        ("/huge", huge),
    ]:
        app.router.add_get(path, handler)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("/"))
    finally:
        await server.close()


async def test_http_json_source_picks_the_series_by_path(http_metrics: str) -> None:
    sources = Sources(None, (http_metrics,), Bounds(max_response_bytes=1000, timeout_s=2))

    def spec(path: str, json_path: str, **fields: str) -> HttpSourceSpec:
        return HttpSourceSpec(type="http", url=http_metrics + path, path=json_path, **fields)

    points = await sources.build(spec("series", "data.series", ts_field="t", value_field="v")).fetch(
        "t1", 10, 0
    )
    assert [(p.ts, p.value) for p in points] == [(1, 10), (2, 20), (3, 30)]
    points = await sources.build(spec("series", "data.series", ts_field="t", value_field="v")).fetch(
        "t1", 2, 0
    )
    assert [p.ts for p in points] == [2, 3]
    points = await sources.build(spec("pairs", "results.0.points")).fetch("t1", 10, 0)
    assert [(p.ts, p.value) for p in points] == [(1, 1.5), (2, 2.5)]
    points = await sources.build(spec("scalar", "value")).fetch("t1", 10, 99.0)
    assert [(p.ts, p.value) for p in points] == [(99.0, 42)]

    for path, json_path in [("broken", ""), ("huge", ""), ("series", "data.nothing"), ("scalar", "")]:
        with pytest.raises(SourceError):
            await sources.build(spec(path, json_path)).fetch("t1", 10, 0)


def test_http_source_only_fetches_allowed_urls() -> None:
    sources = Sources(None, ("http://127.0.0.1:1/metrics/",))
    with pytest.raises(InvalidInput, match="allowed"):
        sources.build(HttpSourceSpec(type="http", url="http://169.254.169.254/latest/meta-data"))


def test_pick_walks_dotted_paths() -> None:
    doc = {"a": [{"b": 1}, {"b": 2}]}
    assert pick(doc, "a.1.b") == 2
    assert pick(doc, "") == doc
    with pytest.raises(ValueError):
        pick(doc, "a.5")
