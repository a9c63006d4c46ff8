"""What the chat surfaces' testbeds (tests/channels/<surface>/conftest.py) share: fast delivery
options, the echo model, a run record for renderer tests, waiting until the engine is idle and
the stand-in shows a result, and a scheduled digest fired on demand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from channels.delivery import SinkOptions
from core.lifecycle import RunStatus
from core.model.port import Message
from core.outbox_dispatcher import DispatchOptions
from core.records import Principal, Run
from core.runtime import Runtime
from core.schedule_records import Draft, Schedule
from core.settings import SchedulerSettings
from core.store.context import ContextStore
from service.scheduling import build_scheduler, schedule_book
from tests.core.engine.harness import Engine
from tests.fakes.models import Reply, Say
from tests.scheduler.test_service import make_due

FAST_DISPATCH = DispatchOptions(poll_s=0.02, max_backoff_s=1.0)
FAST_SINK = SinkOptions(edit_interval_s=0.0, backoff_s=0.02, max_wait_s=0.2, max_backoff_s=0.2)
_RUN = Run(
    id="run_1",
    tenant_id="",
    session_id="ses_1",
    user_id="usr_alice",
    message_id="msg_1",
    bot="support",
    surface="",
    thread_key="",
    status=RunStatus.RUNNING,
    step=1,
    event_seq=1,
    fence=0,
    attempts=0,
    prompt_tokens=0,
    completion_tokens=0,
    cost_usd=0.0,
    answer=None,
    error_code=None,
    error_message=None,
    created_at=0.0,
    updated_at=0.0,
)


def a_run(tenant_id: str, surface: str, thread_key: str, **fields: Any) -> Run:
    """A running run of the support bot in `thread_key`, as a renderer sees it."""
    return replace(_RUN, tenant_id=tenant_id, surface=surface, thread_key=thread_key, **fields)


def last_user_text(messages: list[Message]) -> str:
    return next((str(m["content"]) for m in reversed(messages) if m["role"] == "user"), "")


def echo(messages: list[Message]) -> Reply:
    return Say(f"You said: {last_user_text(messages)}")


async def settle(engine: Engine, check: Callable[[], bool], surface: str, timeout: float = 15.0) -> None:
    """Wait until the engine is idle and the surface's stand-in shows what `check` wants."""
    deadline = time.monotonic() + timeout
    while True:
        if engine.queue.idle() and check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{surface} never showed what the test waited for")
        await asyncio.sleep(0.02)


async def schedule_digest(
    runtime: Runtime, store: ContextStore, owner: Principal, target: dict[str, Any]
) -> Schedule:
    """A schedule of `owner`'s: the ops digest, every minute, posted to `target`."""
    draft = Draft(
        bot="support", prompt="Post the ops digest", cron="* * * * *", target=target, name="ops digest"
    )
    return await schedule_book(store, runtime.bots).create(owner, draft)


async def fire(runtime: Runtime, store: ContextStore, owner: Principal, schedule: Schedule) -> Run:
    """Fire now, as the scheduler does when the schedule is due, and wait for its run to finish."""
    await make_due(store, schedule)
    assert await build_scheduler(SchedulerSettings(jitter_s=0.0), runtime, store).tick() == 1
    [fired] = await store.schedules.fires(owner.tenant_id, schedule.id)
    assert fired.run_id is not None
    run = await runtime.wait(owner, fired.run_id, 20)
    assert run.status is RunStatus.COMPLETED, run.error_message
    return run
