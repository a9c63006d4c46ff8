"""Any text and any number through the store, on SQLite and PostgreSQL: each value either comes
back exactly as written or is refused with `InvalidInput`; a driver error never escapes.

The `store` and `tenant` fixtures live once per test, not once per example: every example writes
rows of its own, so the examples do not interfere (hence the suppressed health check).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from core.errors import InvalidInput, NotFound
from core.ids import new_id
from core.records import Principal
from core.schedule_records import Schedule
from core.store.context import ContextStore
from core.store.runs import NewRun
from core.store.schema import demo_metrics
from tests.conftest import TenantFixture

T = TypeVar("T")

PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,  # no example files in the working tree; the explicit examples pin the known cases
)
# Every code point: NUL, other controls and lone surrogates included.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
any_float = st.floats()  # NaN and the infinities included
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | any_float | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)


async def refused_or(write: Awaitable[T]) -> T | None:
    """The written value, or None when the store refused it as invalid input."""
    try:
        return await write
    except InvalidInput:
        return None


@PROPERTY
@given(message=any_text, thread_key=any_text, bot=any_text)
@example(message="a\x00b", thread_key="t", bot="support")
@example(message="a\ud800", thread_key="t", bot="support")
@example(message="hi", thread_key="t\x00", bot="support")
@example(message="hi", thread_key="t", bot="x" * 101)
async def test_a_message_and_its_keys_round_trip_or_are_refused(
    store: ContextStore, tenant: TenantFixture, message: str, thread_key: str, bot: str
) -> None:
    who: Principal = tenant.member
    new = NewRun(who.tenant_id, who.user_id, "api", thread_key, bot, message)
    submitted = await refused_or(store.runs.submit(new))
    if submitted is None:
        return
    assert submitted.run is not None
    run = await store.runs.get(tenant.id, submitted.run.id)
    assert (run.thread_key, run.bot) == (thread_key, bot)
    assert (await store.runs.message(tenant.id, run.message_id)).content == message


@PROPERTY
@given(run_id=any_text)
@example(run_id="run\x00x")
@example(run_id="\udfff")
@example(run_id="x" * 41)
async def test_looking_up_any_id_finds_nothing_or_is_refused(
    store: ContextStore, tenant: TenantFixture, run_id: str
) -> None:
    try:
        await store.runs.get(tenant.id, run_id)
    except (NotFound, InvalidInput):
        return
    raise AssertionError(f"found a run with id {run_id!r}")


@PROPERTY
@given(name=any_text)
@example(name="\x00")
@example(name="\ud800")
async def test_a_user_name_round_trips_or_is_refused(
    store: ContextStore, tenant: TenantFixture, name: str
) -> None:
    user = await refused_or(store.directory.create_user(tenant.id, name))
    if user is not None:
        assert (await store.directory.get_user(tenant.id, user.id)).name == name


@PROPERTY
@given(
    name=any_text,
    prompt=any_text,
    interval_s=st.integers(),
    grace_s=st.integers(),
    params=st.dictionaries(any_text, json_value, max_size=4),
)
@example(name="n", prompt="p\x00", interval_s=60, grace_s=0, params={})
@example(name="n", prompt="p", interval_s=2**31, grace_s=0, params={})
@example(name="n", prompt="p", interval_s=60, grace_s=0, params={"x": float("nan")})
@example(name="n", prompt="p", interval_s=60, grace_s=0, params={"x": [float("-inf")]})
@example(name="n", prompt="p", interval_s=60, grace_s=0, params={"\x00": "\ud800", "big": 2**80})
async def test_a_schedule_round_trips_or_is_refused(
    store: ContextStore,
    tenant: TenantFixture,
    name: str,
    prompt: str,
    interval_s: int,
    grace_s: int,
    params: dict[str, Any],
) -> None:
    draft = Schedule(
        id=new_id("sch"),
        tenant_id=tenant.id,
        owner_id=tenant.member.user_id,
        bot="support",
        kind="digest",
        cron=None,
        interval_s=interval_s,
        timezone="UTC",
        target={"surface": "slack", "channel": name},
        prompt=prompt,
        params=params,
        grace_s=grace_s,
        name=name,
    )
    created = await refused_or(store.schedules.create(draft, actor_user_id=tenant.member.user_id))
    if created is not None:
        assert await store.schedules.get(tenant.id, created.id) == created


@PROPERTY
@given(name=any_text, ts=any_float, value=any_float)
@example(name="m", ts=0.0, value=float("nan"))
@example(name="m", ts=float("inf"), value=1.0)
@example(name="m", ts=-0.0, value=5e-324)
async def test_a_float_column_round_trips_or_is_refused(
    store: ContextStore, tenant: TenantFixture, name: str, ts: float, value: float
) -> None:
    name = new_id("metric") + name  # examples repeat values; the key must not
    row = {"tenant_id": tenant.id, "name": name, "ts": ts, "value": value}
    written = await refused_or(store.db.run(lambda conn: conn.execute(insert(demo_metrics), row)))
    if written is None:
        return
    stmt = select(demo_metrics.c.value).where(
        demo_metrics.c.tenant_id == tenant.id, demo_metrics.c.name == name, demo_metrics.c.ts == ts
    )
    assert await store.db.run(lambda conn: conn.execute(stmt).scalar_one()) == value
