"""A real `switchboard worker` process killed with SIGKILL while the model streams its answer:
the deltas were transient, so another worker asks the model again and commits the answer once."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.events import EventType
from core.lifecycle import RunStatus
from core.scripted_model import Script, ScriptedModelServer
from core.store.context import ContextStore
from core.store.runs import NewRun
from tests.conftest import TenantFixture
from tests.core.engine.processes import WorkerProcess, wait_until, worker_env
from tests.core.engine.test_crash_matrix import wait_for_status

pytestmark = pytest.mark.slow

ANSWER = " ".join(f"token{i}" for i in range(60)) + "."
TOKEN_MS = 40.0  # 61 chunks: about 2.4 s of streaming, killed 0.5 s in


@pytest.fixture(scope="module")
def model_server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(Script(default=ANSWER), token_latency_ms=TOKEN_MS) as server:
        yield server


async def test_a_worker_killed_mid_stream_leads_to_the_committed_answer_once(
    store: ContextStore,
    tenant: TenantFixture,
    database_url: str,
    model_server: ScriptedModelServer,
    tmp_path: Path,
) -> None:
    model_server.reset()
    submitted = await store.runs.submit(NewRun(tenant.id, tenant.member.user_id, "api", "t", "support", "hi"))
    assert submitted.run is not None
    run_id = submitted.run.id
    env = worker_env(
        database_url, model_server.base_url, tmp_path / "ledger.jsonl", bots='["bots.support:bot"]'
    )

    doomed = WorkerProcess(env, tmp_path / "doomed.log")
    try:
        asked = await asyncio.to_thread(wait_until, lambda: len(model_server.requests()) == 1, 30)
        assert asked, (tmp_path / "doomed.log").read_text()[-2000:]
        started = time.monotonic()
        await asyncio.sleep(0.5)  # mid-stream: a dozen words out, fifty to go
        doomed.signal(signal.SIGKILL)
        assert await asyncio.to_thread(doomed.wait_dead, 10) == -signal.SIGKILL
        assert time.monotonic() - started < 2.0, "killed before the stream could finish"
    finally:
        doomed.stop()

    rescuer = WorkerProcess(env, tmp_path / "rescuer.log")
    try:
        status = await wait_for_status(store, tenant, run_id, 30)
    finally:
        rescuer.stop()
    assert status is RunStatus.COMPLETED, (tmp_path / "rescuer.log").read_text()[-2000:]

    requests = model_server.requests()
    events = await store.runs.events(tenant.id, run_id)
    kinds = [e.type for e in events]
    # Asked again, streamed (a loaded machine may see the rescuer retry a slow stream too).
    assert len(requests) >= 2 and all(r.get("stream") is True for r in requests)
    assert kinds.count(EventType.MODEL_RESPONDED) == 1 and kinds.count(EventType.RUN_COMPLETED) == 1
    [completed] = [e for e in events if e.type == EventType.RUN_COMPLETED]
    assert completed.payload["answer"] == ANSWER  # whole, once: nothing of the killed stream in it
    run = await store.runs.get(tenant.id, run_id)
    assert run.answer == ANSWER
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
