"""Waiting costs nothing: a run waiting for approval holds no worker, lease or queue message.

10,000 runs wait for approval in the database; a real worker process sweeping the store keeps
flat memory, and approving any one of them resumes it.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from core.ids import new_id
from core.lifecycle import RunStatus
from core.records import Principal, Role
from core.scripted_model import Script, ScriptedModelServer
from core.store.context import ContextStore
from core.store.runs import NewRun
from core.store.schema import approvals, checkpoints, run_events, runs
from tests.conftest import TenantFixture
from tests.core.engine.processes import WorkerProcess, worker_env
from tests.core.engine.test_crash_matrix import SCRIPT
from tests.fakes.approver import _NoQueue
from tests.fakes.ledger_bot import read_ledger

pytestmark = pytest.mark.slow
WAITING = 10_000


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def until_status(
    store: ContextStore,
    t: TenantFixture,
    run_id: str,
    status: RunStatus,
    step_over: int = -1,
    timeout: float = 30,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        run = await store.runs.get(t.id, run_id)
        if run.status is status and run.step > step_over:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{run_id} never reached {status}")


async def clone_waiting_run(store: ContextStore, template_id: str, count: int) -> list[str]:
    """Copy a run parked on an approval `count` times, each with its own ids and keys."""
    return await store.db.run(lambda conn: _clone(conn, template_id, count))


def _clone(conn, template_id: str, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    run = (conn.execute(select(runs).where(runs.c.id == template_id))).one()._asdict()
    checkpoint = (
        (
            conn.execute(
                select(checkpoints).where(
                    checkpoints.c.run_id == template_id, checkpoints.c.step == run["step"]
                )
            )
        )
        .one()
        ._asdict()
    )
    approval = (conn.execute(select(approvals).where(approvals.c.run_id == template_id))).one()._asdict()
    events = [
        e._asdict()
        for e in (conn.execute(select(run_events).where(run_events.c.run_id == template_id))).all()
    ]
    ids = [new_id("run") for _ in range(count)]
    old_key = approval["call_key"]
    for chunk in range(0, count, 1000):
        batch = ids[chunk : chunk + 1000]
        conn.execute(insert(runs), [{**run, "id": i} for i in batch])
        conn.execute(insert(run_events), [{**e, "run_id": i} for i in batch for e in events])
        states = []
        for i in batch:
            state = dict(checkpoint["state"])
            state["pending"] = [{**p, "key": p["key"].replace(template_id, i)} for p in state["pending"]]
            states.append({**checkpoint, "run_id": i, "state": state})
        conn.execute(insert(checkpoints), states)
        conn.execute(
            insert(approvals),
            [
                {**approval, "id": new_id("apr"), "run_id": i, "call_key": old_key.replace(template_id, i)}
                for i in batch
            ],
        )
    return ids


async def test_ten_thousand_waiting_runs_cost_a_worker_nothing(
    store: ContextStore, tenant: TenantFixture, database_url: str, tmp_path: Path
) -> None:
    from core.engine.notifier import RunNotifier
    from core.governance.desk import DecisionDesk

    ledger = tmp_path / "ledger.jsonl"
    template = (
        await store.runs.submit(NewRun(tenant.id, tenant.member.user_id, "api", "t", "ledger", "go"))
    ).run
    assert template is not None
    with ScriptedModelServer(Script.from_yaml(SCRIPT)) as model:
        worker = WorkerProcess(worker_env(database_url, model.base_url, ledger), tmp_path / "worker.log")
        try:
            await until_status(store, tenant, template.id, RunStatus.WAITING_APPROVAL)
            await asyncio.sleep(2)  # let the worker settle into its sweeping rhythm
            before = rss_kib(worker.pid)
            ids = await clone_waiting_run(store, template.id, WAITING)
            await asyncio.sleep(4)  # about twenty sweeps over 10,000 waiting runs
            after = rss_kib(worker.pid)
            assert await store.runs.due(store.clock.now()) == []
            print(
                f"\nworker RSS with 1 waiting run: {before / 1024:.1f} MiB; "
                f"with {WAITING + 1}: {after / 1024:.1f} MiB"
            )
            assert after - before < 10 * 1024, (before, after)

            chosen = random.choice(ids)
            [approval] = await store.decisions.approvals(tenant.id, run_id=chosen)
            desk = DecisionDesk(store, _NoQueue(), RunNotifier())
            await desk.decide(
                Principal(tenant.id, tenant.member.user_id, Role.MEMBER), approval.id, approve=True
            )
            # It resumes: ship(a) runs, then the agent asks to charge, which waits for approval again.
            await until_status(store, tenant, chosen, RunStatus.WAITING_APPROVAL, step_over=2)
        finally:
            worker.stop()
    assert [(e["tool"], e["key"]) for e in read_ledger(ledger)] == [("ship", f"{chosen}:1:0")]
