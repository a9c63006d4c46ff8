"""A worker paused past its lease (SIGSTOP, then SIGCONT) cannot write: its fence is stale."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import pytest

from core.lifecycle import RunStatus
from core.scripted_model import Script, ScriptedModelServer
from core.store.context import ContextStore
from core.store.runs import NewRun
from tests.conftest import TenantFixture
from tests.core.engine.processes import WorkerProcess, worker_env
from tests.core.engine.test_crash_matrix import SCRIPT, wait_for_status
from tests.fakes.approver import auto_approver
from tests.fakes.ledger_bot import read_ledger

pytestmark = pytest.mark.slow


async def test_paused_worker_cannot_write_after_takeover(
    store: ContextStore, tenant: TenantFixture, database_url: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    run = (await store.runs.submit(NewRun(tenant.id, tenant.member.user_id, "api", "t", "ledger", "go"))).run
    assert run is not None
    async with auto_approver(store, tenant.id):
        with ScriptedModelServer(Script.from_yaml(SCRIPT), latency_ms=1200) as model:
            zombie = WorkerProcess(worker_env(database_url, model.base_url, ledger), tmp_path / "zombie.log")
            rescuer = None
            try:
                for _ in range(200):  # the zombie has taken the lease and is inside its model call
                    current = await store.runs.get(tenant.id, run.id)
                    if current.lease_owner and f":{zombie.pid}:" in current.lease_owner:
                        break
                    await asyncio.sleep(0.05)
                else:
                    pytest.fail("the first worker never took the lease")
                zombie.signal(signal.SIGSTOP)
                rescuer = WorkerProcess(
                    worker_env(database_url, model.base_url, ledger), tmp_path / "rescuer.log"
                )
                for _ in range(300):
                    types = [e.type for e in await store.runs.events(tenant.id, run.id)]
                    if "LeaseRecovered" in types:
                        break
                    await asyncio.sleep(0.05)
                else:
                    pytest.fail("the second worker never recovered the lease")
                zombie.signal(signal.SIGCONT)
                assert await wait_for_status(store, tenant, run.id, 60) is RunStatus.COMPLETED
            finally:
                zombie.stop()
                if rescuer is not None:
                    rescuer.stop()
    events = await store.runs.events(tenant.id, run.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    steps = Counter(e.payload["step"] for e in events if e.type == "ModelResponded")
    assert sorted(steps) == [1, 4, 7, 10] and set(steps.values()) == {1}, steps
    assert Counter(e["tool"] for e in read_ledger(ledger)) == {"ship": 2, "charge": 1}
    assert "lost the lease" in (tmp_path / "zombie.log").read_text()
