"""The transactional outbox: rendered with the events, claimed, delivered or retried later."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from core.lifecycle import RunStatus
from core.outbound import Outbound
from core.records import NewEvent, Run, RunEvent
from core.steps import StepOutcome
from core.store.context import ContextStore
from tests.conftest import TenantFixture, make_tenant
from tests.core.store.test_runs import new_run


class EchoRenderer:
    """Renders every event as one message to the run's thread."""

    def render(self, run: Run, events: Sequence[RunEvent]) -> list[Outbound]:
        return [Outbound(f"{run.id}:{e.seq}", {"thread": run.thread_key}, {"text": e.type}) for e in events]


@pytest.fixture
async def chat_store(database_url: str, store: ContextStore) -> AsyncIterator[ContextStore]:
    rendering = ContextStore.open(database_url, renderers={"chat": EchoRenderer()})
    yield rendering
    await rendering.close()


async def test_events_and_their_messages_commit_together(chat_store: ContextStore) -> None:
    t: TenantFixture = await make_tenant(chat_store)
    run = (await chat_store.runs.submit(new_run(t, surface="chat"))).run
    assert run is not None
    lease = (await chat_store.steps.acquire(run.id, "w", 30, 5)).lease
    assert lease is not None
    await chat_store.steps.commit(lease, StepOutcome(RunStatus.COMPLETED, {}, [NewEvent("RunCompleted")]))
    items = await chat_store.outbox.claim_due("chat")
    assert [i.payload["text"] for i in items] == ["RunCreated", "RunStarted", "RunCompleted"]
    assert all(i.target == {"thread": "thread-1"} for i in items)
    assert await chat_store.outbox.claim_due("chat") == []  # claimed items are not handed out twice


async def test_other_surfaces_render_nothing(chat_store: ContextStore) -> None:
    t = await make_tenant(chat_store)
    await chat_store.runs.submit(new_run(t, surface="api"))
    assert await chat_store.outbox.claim_due("api") == []


async def test_retry_later_then_deliver(chat_store: ContextStore) -> None:
    t = await make_tenant(chat_store)
    await chat_store.runs.submit(new_run(t, surface="chat"))
    [item] = await chat_store.outbox.claim_due("chat")
    await chat_store.outbox.retry_later(item.id, delay_s=0, error="429")
    [again] = await chat_store.outbox.claim_due("chat")
    assert again.id == item.id and again.attempts == 1
    await chat_store.outbox.delivered(again.id, result={"ts": "1.2"})
    assert await chat_store.outbox.claim_due("chat") == []
    assert await chat_store.outbox.result(f"{item.run_id}:1") == {"ts": "1.2"}
    assert await chat_store.outbox.backlog() == 0


async def test_a_key_is_queued_once(store: ContextStore, tenant: TenantFixture) -> None:
    args = {"tenant_id": tenant.id, "surface": "chat", "target": {}, "payload": {}}
    assert await store.outbox.put(dedupe_key="k", **args)
    assert not await store.outbox.put(dedupe_key="k", **args)
