"""Kill real worker processes with SIGKILL at every step boundary and side-effect failpoint of a
multi-step run; another worker finishes it. The ledger proves how often each effect happened.

The run: model → ship(a) → model → charge(5) → model → ship(b) → model "done"; each tool call
first parks the run for the user's approval (granted by a test approver), so there are ten steps,
and a crash between an approval and its execution is among the cases.
`ship` is idempotent (the ledger dedupes by key); `charge` is not.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.lifecycle import RunStatus
from core.scripted_model import Script, ScriptedModelServer
from core.store.context import ContextStore
from core.store.runs import NewRun
from tests.conftest import TenantFixture
from tests.core.engine.processes import WorkerProcess, worker_env
from tests.fakes.approver import auto_approver
from tests.fakes.ledger_bot import read_ledger

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "fakes" / "ledger_script.yaml"

# (failpoint, the status the run must end in, how many charges may have happened)
CASES = [
    *[(f"after_commit:{n}", RunStatus.COMPLETED, 1) for n in range(1, 11)],  # every step boundary
    ("step_start:1", RunStatus.COMPLETED, 1),
    ("before_commit:1", RunStatus.COMPLETED, 1),  # a model step's work is lost, redone
    *[(f"before_intent:{n}", RunStatus.COMPLETED, 1) for n in (1, 2, 3)],
    ("after_intent:1", RunStatus.COMPLETED, 1),  # ship(a): idempotent, called again
    ("after_intent:2", RunStatus.NEEDS_RECONCILIATION, 0),  # charge: never ran, but we cannot know
    ("after_intent:3", RunStatus.COMPLETED, 1),
    ("after_call:1", RunStatus.COMPLETED, 1),
    ("after_call:2", RunStatus.NEEDS_RECONCILIATION, 1),  # charge ran; its result was lost
    ("after_call:3", RunStatus.COMPLETED, 1),
]


@pytest.fixture(scope="module")
def model_server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(Script.from_yaml(SCRIPT)) as server:
        yield server


async def wait_for_status(store: ContextStore, t: TenantFixture, run_id: str, timeout: float) -> RunStatus:
    """Until the run ends (approvals are granted meanwhile by the test approver)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    ended = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.NEEDS_RECONCILIATION)
    while True:
        run = await store.runs.get(t.id, run_id)
        if run.status in ended or loop.time() > deadline:
            return run.status
        await asyncio.sleep(0.1)


@pytest.mark.parametrize(("failpoint", "expected", "charges"), CASES, ids=[c[0] for c in CASES])
async def test_worker_killed_at_failpoint(
    store: ContextStore,
    tenant: TenantFixture,
    database_url: str,
    model_server: ScriptedModelServer,
    tmp_path: Path,
    failpoint: str,
    expected: RunStatus,
    charges: int,
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    submitted = await store.runs.submit(NewRun(tenant.id, tenant.member.user_id, "api", "t", "ledger", "go"))
    assert submitted.run is not None
    run_id = submitted.run.id

    async with auto_approver(store, tenant.id):
        doomed = WorkerProcess(
            worker_env(database_url, model_server.base_url, ledger, failpoint=failpoint),
            tmp_path / "doomed.log",
        )
        try:
            code = await asyncio.to_thread(doomed.wait_dead, 30)
        finally:
            doomed.stop()
        assert code == -signal.SIGKILL, (tmp_path / "doomed.log").read_text()[-2000:]

        rescuer = WorkerProcess(
            worker_env(database_url, model_server.base_url, ledger), tmp_path / "rescuer.log"
        )
        try:
            status = await wait_for_status(store, tenant, run_id, 30)
        finally:
            rescuer.stop()
    assert status is expected, (tmp_path / "rescuer.log").read_text()[-2000:]

    effects = Counter((e["tool"], e.get("item")) for e in read_ledger(ledger))
    assert effects[("ship", "a")] == 1
    assert effects[("charge", None)] == charges
    if expected is RunStatus.COMPLETED:
        assert effects[("ship", "b")] == 1
    events = await store.runs.events(tenant.id, run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
