"""The generic outbox dispatcher, with a sink that records what it was given and fails on cue."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from core.outbox_dispatcher import DeliveryRejected, DeliveryRetry, DispatchOptions, OutboxDispatcher
from core.store.context import ContextStore
from core.store.outbox import OutboxItem
from core.store.schema import outbox
from tests.conftest import TenantFixture


class RecordingSink:
    surface = "chat"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.plan: dict[str, list[Exception]] = {}

    def coalesce_key(self, item: OutboxItem) -> str | None:
        key = item.payload.get("edit_of")
        return str(key) if key else None

    async def deliver(self, item: OutboxItem) -> dict[str, Any] | None:
        name = str(item.payload["name"])
        failures = self.plan.get(name)
        if failures:
            raise failures.pop(0)
        self.sent.append(name)
        return {"sent": name}


async def put(
    store: ContextStore, tenant: TenantFixture, name: str, run: str | None = "run_a", **extra: Any
) -> None:
    await store.outbox.put(
        tenant_id=tenant.id,
        surface="chat",
        dedupe_key=f"{run}:{name}",
        run_id=run,
        target={},
        payload={"name": name, **extra},
    )


async def status_of(store: ContextStore, key: str) -> str:
    stmt = select(outbox.c.status).where(outbox.c.dedupe_key == key)
    return str(await store.db.run(lambda conn: conn.execute(stmt).scalar_one()))


async def test_items_of_a_run_go_in_order_and_wait_behind_a_retry(
    store: ContextStore, tenant: TenantFixture
) -> None:
    sink = RecordingSink()
    dispatcher = OutboxDispatcher(store.outbox, sink)
    for name in ("a1", "a2", "a3"):
        await put(store, tenant, name)
    await put(store, tenant, "b1", run="run_b")
    sink.plan["a2"] = [DeliveryRetry(0, "busy")]

    await dispatcher.dispatch_once()
    assert sorted(sink.sent) == ["a1", "b1"]  # a3 waits behind a2; the other run is not held up
    await dispatcher.dispatch_once()
    assert sink.sent[-2:] == ["a2", "a3"]
    assert await store.outbox.result("run_a:a3") == {"sent": "a3"}


async def test_edits_of_one_message_collapse_to_the_newest(
    store: ContextStore, tenant: TenantFixture
) -> None:
    sink = RecordingSink()
    for n in range(4):
        await put(store, tenant, f"edit{n}", edit_of="status")
    await OutboxDispatcher(store.outbox, sink).dispatch_once()
    assert sink.sent == ["edit3"]
    assert await store.outbox.result("run_a:edit0") is not None  # settled: superseded, not pending
    assert await store.outbox.backlog() == 0


async def test_a_rejected_item_is_given_up_and_others_go_on(
    store: ContextStore, tenant: TenantFixture
) -> None:
    sink = RecordingSink()
    sink.plan["bad"] = [DeliveryRejected("channel_not_found")]
    await put(store, tenant, "bad")
    await put(store, tenant, "good")
    await OutboxDispatcher(store.outbox, sink).dispatch_once()
    assert sink.sent == ["good"]
    assert await status_of(store, "run_a:bad") == "dead"


async def test_an_unforeseen_failure_is_retried_never_dropped(
    store: ContextStore, tenant: TenantFixture
) -> None:
    sink = RecordingSink()
    sink.plan["flaky"] = [RuntimeError("socket closed")]
    await put(store, tenant, "flaky", run=None)
    dispatcher = OutboxDispatcher(store.outbox, sink, DispatchOptions(max_backoff_s=0))
    await dispatcher.dispatch_once()
    assert sink.sent == [] and await status_of(store, "None:flaky") == "pending"
    await dispatcher.dispatch_once()
    assert sink.sent == ["flaky"]


async def test_the_loop_delivers_what_arrives_and_stops_cleanly(
    store: ContextStore, tenant: TenantFixture
) -> None:
    sink = RecordingSink()
    dispatcher = OutboxDispatcher(store.outbox, sink, DispatchOptions(poll_s=0.01))
    await dispatcher.start()
    try:
        await put(store, tenant, "late")
        dispatcher.wake()
        for _ in range(500):
            if sink.sent:
                break
            await asyncio.sleep(0.01)
    finally:
        await dispatcher.stop()
    assert sink.sent == ["late"]
