"""The run store on SQLite and PostgreSQL: submission, idempotency, dedupe, tenant isolation."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import Conflict, NotFound
from core.lifecycle import RunStatus
from core.store.context import ContextStore
from core.store.runs import NewRun
from tests.conftest import TenantFixture, make_tenant


def new_run(t: TenantFixture, text: str = "hi", **kw: object) -> NewRun:
    fields: dict[str, object] = {
        "tenant_id": t.id,
        "user_id": t.member.user_id,
        "surface": "api",
        "thread_key": "thread-1",
        "bot": "support",
        "text": text,
    }
    fields.update(kw)
    return NewRun(**fields)  # type: ignore[arg-type]


async def test_submit_records_message_run_and_first_event(store: ContextStore, tenant: TenantFixture) -> None:
    submitted = await store.runs.submit(new_run(tenant))
    assert submitted.created and submitted.run is not None
    run = await store.runs.get(tenant.id, submitted.run.id)
    assert run.status is RunStatus.QUEUED and run.step == 0
    events = await store.runs.events(tenant.id, run.id)
    assert [(e.seq, e.type) for e in events] == [(1, "RunCreated")]
    message = await store.runs.message(tenant.id, run.message_id)
    assert (message.role, message.content, message.user_id) == ("user", "hi", tenant.member.user_id)


async def test_same_thread_is_one_session_and_keeps_every_speaker(
    store: ContextStore, tenant: TenantFixture
) -> None:
    first = (await store.runs.submit(new_run(tenant, "from alice"))).run
    second = (await store.runs.submit(new_run(tenant, "from bob", user_id=tenant.other_member.user_id))).run
    assert first and second and first.session_id == second.session_id
    history = await store.runs.session_messages(tenant.id, first.session_id, before_id="msg_~", limit=10)
    assert [(m.content, m.user_id) for m in history] == [
        ("from alice", tenant.member.user_id),
        ("from bob", tenant.other_member.user_id),
    ]


async def test_idempotency_key_returns_same_run_or_conflicts(
    store: ContextStore, tenant: TenantFixture
) -> None:
    a = await store.runs.submit(new_run(tenant, idempotency_key="k1", request_hash="h1"))
    b = await store.runs.submit(new_run(tenant, idempotency_key="k1", request_hash="h1"))
    assert a.run and b.run and a.run.id == b.run.id and not b.created
    with pytest.raises(Conflict):
        await store.runs.submit(new_run(tenant, idempotency_key="k1", request_hash="h2"))


async def test_concurrent_submissions_with_one_key_make_one_run(
    store: ContextStore, tenant: TenantFixture
) -> None:
    results = await asyncio.gather(
        *[store.runs.submit(new_run(tenant, idempotency_key="same", request_hash="h")) for _ in range(5)]
    )
    assert len({r.run.id for r in results if r.run}) == 1
    assert sum(r.created for r in results) == 1


async def test_inbound_event_id_dedupes_retries(store: ContextStore, tenant: TenantFixture) -> None:
    first = await store.runs.submit(new_run(tenant, event_id="Ev1", surface="slack"))
    retry = await store.runs.submit(new_run(tenant, event_id="Ev1", surface="slack"))
    other = await store.runs.submit(new_run(tenant, event_id="Ev2", surface="slack"))
    assert first.created and retry.run is None and other.created


async def test_no_read_crosses_tenants(store: ContextStore, tenant: TenantFixture) -> None:
    other = await make_tenant(store, "globex")
    run = (await store.runs.submit(new_run(tenant))).run
    assert run is not None
    with pytest.raises(NotFound):
        await store.runs.get(other.id, run.id)
    assert await store.runs.events(other.id, run.id) == []
    assert await store.runs.find(other.id) == []
    with pytest.raises(NotFound):
        await store.runs.message(other.id, run.message_id)
    assert await store.runs.session_messages(other.id, run.session_id, before_id="msg_~", limit=5) == []


async def test_history_window_is_bounded(store: ContextStore, tenant: TenantFixture) -> None:
    runs = [(await store.runs.submit(new_run(tenant, f"m{i}"))).run for i in range(12)]
    last = runs[-1]
    assert last is not None
    window = await store.runs.session_messages(tenant.id, last.session_id, before_id=last.message_id, limit=5)
    assert [m.content for m in window] == ["m6", "m7", "m8", "m9", "m10"]


async def test_identity_maps_to_one_user_per_tenant(store: ContextStore, tenant: TenantFixture) -> None:
    other = await make_tenant(store, "globex")
    u1 = await store.directory.resolve_identity(tenant.id, "slack", "U123", display_name="Ann")
    u2 = await store.directory.resolve_identity(tenant.id, "slack", "U123")
    u3 = await store.directory.resolve_identity(other.id, "slack", "U123")
    assert u1.id == u2.id != u3.id
    assert u1.id != "U123"


async def test_api_keys_authenticate_to_tenant_user_and_role(
    store: ContextStore, tenant: TenantFixture
) -> None:
    key = await store.directory.create_api_key(tenant.id, tenant.admin.user_id)
    assert await store.directory.authenticate(key) == tenant.admin
    with pytest.raises(Exception, match="unknown"):
        await store.directory.authenticate(key + "x")
