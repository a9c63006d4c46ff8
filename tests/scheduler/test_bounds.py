"""Every number a schedule is made of has a floor and a ceiling, checked before the store is
touched, and a timing is accepted only once a fire time has been computed for it."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from core.errors import InvalidInput
from core.schedule_records import Draft
from core.schedules import ScheduleBook
from core.store.context import ContextStore
from core.tools.builtin.schedules import create_schedule
from scheduler.anomaly.demo import CHECK_PARAMS
from scheduler.triggers import ApsTiming
from tests.conftest import TenantFixture

BASE: dict[str, Any] = {
    "bot": "ops",
    "target": {"surface": "slack", "channel": "C0OPS"},
    "prompt": "Post the ops digest",
}

REFUSED = [
    pytest.param({"interval_s": 10**12}, id="interval-year-33715"),
    pytest.param({"interval_s": 10**14}, id="interval-overflows-timedelta"),
    pytest.param({"interval_s": 10**30}, id="interval-overflows-c-int"),
    pytest.param({"interval_s": 59}, id="interval-below-a-minute"),
    pytest.param({"interval_s": 3600, "grace_s": 10**20}, id="grace-overflows-integer"),
    pytest.param({"interval_s": 3600, "grace_s": -1}, id="grace-negative"),
    pytest.param({"cron": "0 0 30 2 *"}, id="cron-never-fires"),
    pytest.param({"interval_s": 3600, "params": {"n": math.nan}}, id="params-nan"),
    pytest.param({"interval_s": 3600, "params": {"n": math.inf}}, id="params-inf"),
    pytest.param({"interval_s": 3600, "params": {"n": 10**30}}, id="params-huge-int"),
    pytest.param({"interval_s": 3600, "params": {"s": "x" * 20_000}}, id="params-too-large"),
    pytest.param({"interval_s": 3600, "name": "n" * 201}, id="name-longer-than-its-column"),
]


@pytest.mark.parametrize("fields", REFUSED)
async def test_out_of_range_schedules_are_refused_before_the_store(
    store: ContextStore, tenant: TenantFixture, fields: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput):
        await ScheduleBook(store, ApsTiming()).create(tenant.member, Draft(**{**BASE, **fields}))
    assert await store.schedules.find(tenant.id) == []


@pytest.mark.parametrize("interval_s", [10**12, 10**14, 10**30])
async def test_the_chat_tools_book_refuses_huge_intervals_without_the_timing_engine(
    store: ContextStore, tenant: TenantFixture, interval_s: int
) -> None:
    with pytest.raises(InvalidInput, match="interval_s"):
        await ScheduleBook(store).create(tenant.member, Draft(**BASE, interval_s=interval_s))


@pytest.mark.parametrize(
    "args",
    [
        {"every_minutes": 10**12},
        {"every_minutes": 0},
        {"every_minutes": 60, "grace_minutes": 10**20},
        {"every_minutes": 60, "grace_minutes": -5},
    ],
)
def test_the_schedule_tool_declares_its_bounds(args: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        create_schedule.arguments_model.model_validate({"prompt": "digest", **args})


async def test_the_edges_themselves_are_accepted(store: ContextStore, tenant: TenantFixture) -> None:
    book = ScheduleBook(store, ApsTiming())
    await book.create(tenant.member, Draft(**BASE, interval_s=60, grace_s=0))
    await book.create(tenant.member, Draft(**BASE, interval_s=366 * 86_400, grace_s=7 * 86_400))
    assert len(await store.schedules.find(tenant.id)) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"detector": {"type": "threshold", "above": math.inf}},
        {"detector": {"type": "threshold", "below": math.nan}},
        {"detector": {"type": "threshold", "above": 1e300}},
        {"detector": {"type": "zscore", "threshold": 1e300}},
        {"detector": {"type": "zscore", "min_samples": 10**12}},
        {"detector": {"type": "ewma", "k": math.inf}},
        {"source": {"type": "sql", "query": "demo_metric", "args": {"metric": math.nan}}},
        {"lookback": 10**12},
    ],
)
async def test_anomaly_checks_are_refused_at_creation_when_out_of_range(
    store: ContextStore, tenant: TenantFixture, change: dict[str, Any]
) -> None:
    from service.scheduling import kind_rules

    book = ScheduleBook(store, ApsTiming(), kinds=kind_rules())
    params = {**CHECK_PARAMS, **change}
    with pytest.raises(InvalidInput, match="anomaly check"):
        kind_rules()["anomaly"](params)  # the check's own bounds, past the book's generic ones
    with pytest.raises(InvalidInput):
        await book.create(tenant.member, Draft(**BASE, interval_s=300, kind="anomaly", params=params))
    assert await store.schedules.find(tenant.id) == []
    await book.create(tenant.member, Draft(**BASE, interval_s=300, kind="anomaly", params=CHECK_PARAMS))
