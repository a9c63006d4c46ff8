"""The generic outbox dispatcher, with a sink that records what it was given and fails on cue."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

import pytest
from prometheus_client import REGISTRY
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


def set_aside(action: str) -> float:
    labels = {"loop": "outbox", "action": action}
    return REGISTRY.get_sample_value("switchboard_loop_item_failures_total", labels) or 0.0


async def test_an_item_failing_every_attempt_is_parked_logged_once_and_counted(
    store: ContextStore, tenant: TenantFixture, caplog: pytest.LogCaptureFixture
) -> None:
    sink = RecordingSink()
    sink.plan["poison"] = [ValueError("cannot render this payload")] * 50
    await put(store, tenant, "poison", run="run_p")
    dispatcher = OutboxDispatcher(store.outbox, sink, DispatchOptions(max_backoff_s=0, max_failures=4))
    parked = set_aside("parked")
    with caplog.at_level(logging.WARNING, logger="core.outbox_dispatcher"):
        for n in range(6):
            await put(store, tenant, f"good{n}", run=f"run_{n}")
            await dispatcher.dispatch_once()
    assert await status_of(store, "run_p:poison") == "dead"
    assert len(sink.plan["poison"]) == 50 - 4  # tried four times, then left alone
    assert sorted(sink.sent) == [f"good{n}" for n in range(6)]
    assert set_aside("parked") == parked + 1
    tracebacks = [r for r in caplog.records if r.exc_info and "run_p" in str(r.__dict__.get("run_id"))]
    assert len(tracebacks) == 1  # the first failure explains itself; the repeats do not spam


async def test_an_item_its_sink_cannot_even_inspect_does_not_hold_up_the_batch(
    store: ContextStore, tenant: TenantFixture
) -> None:
    class PickySink(RecordingSink):
        def coalesce_key(self, item: OutboxItem) -> str | None:
            if item.payload["name"] == "poison":
                raise KeyError("edit_of")
            return None

    sink = PickySink()
    await put(store, tenant, "poison", run="run_p")
    await put(store, tenant, "after", run="run_p")
    await put(store, tenant, "other", run="run_o")
    await OutboxDispatcher(store.outbox, sink).dispatch_once()
    assert sorted(sink.sent) == ["after", "other"]
    assert await status_of(store, "run_p:poison") == "pending"  # retried later, counted as a failure


@pytest.mark.parametrize("after_s", [math.inf, math.nan, 1e300, -5.0])
async def test_a_retry_delay_out_of_range_is_bounded(
    store: ContextStore, tenant: TenantFixture, after_s: float
) -> None:
    sink = RecordingSink()
    sink.plan["slow"] = [DeliveryRetry(after_s, "later")]
    await put(store, tenant, "slow")
    await OutboxDispatcher(store.outbox, sink, DispatchOptions(max_backoff_s=300)).dispatch_once()
    stmt = select(outbox.c.next_attempt_at, outbox.c.status).where(outbox.c.dedupe_key == "run_a:slow")
    row = await store.db.run(lambda conn: conn.execute(stmt).one())
    assert row.status == "pending" and math.isfinite(row.next_attempt_at)
    assert row.next_attempt_at <= store.clock.now() + 3600
