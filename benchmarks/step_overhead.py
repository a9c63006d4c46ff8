"""Runtime overhead per step: the time a worker spends on a step minus the model call, with the
scripted model at zero latency. Target: median ≤ 5 ms on SQLite, ≤ 10 ms on PostgreSQL.

    python -m benchmarks.step_overhead [--runs 200] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time

from benchmarks.common import bench_setup, describe, fresh_database
from core.engine.notifier import RunNotifier
from core.engine.worker import StepWorker, WorkerOptions
from core.runtime import Runtime, Submission


class ManualQueue:
    """Steps are driven by hand, one at a time, so each can be timed alone."""

    def __init__(self) -> None:
        self.pending: list[str] = []

    async def drain(self, worker: StepWorker) -> None:
        while self.pending:
            await worker.advance(self.pending.pop(0), self.enqueue)

    async def enqueue(self, run_id: str) -> None:
        self.pending.append(run_id)

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def depth(self) -> int:
        return len(self.pending)


async def measure(kind: str, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with bench_setup(fresh_database(kind, tmp)) as (store, bots, model, who):
            queue = ManualQueue()
            worker = StepWorker(store, bots, model, WorkerOptions())
            runtime = Runtime(store, bots, queue, RunNotifier())
            step_ms: list[float] = []
            overhead_ms: list[float] = []
            cpu_ms: list[float] = []
            steps_before: dict[str, int] = {}
            for i in range(runs):
                await runtime.submit(who, Submission(bot="support", text=f"where is order 42? ({i})"))
                while queue.pending:
                    run_id = queue.pending.pop(0)
                    calls = len(model.durations)
                    start, start_cpu = time.perf_counter(), time.process_time()
                    committed = await worker.advance(run_id, queue.enqueue)
                    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
                    if committed is None:
                        continue
                    # A worker takes a run's steps in a row under one lease: share the time out.
                    steps = committed.run.step - steps_before.get(run_id, 0)
                    steps_before[run_id] = committed.run.step
                    for _ in range(steps):
                        step_ms.append(elapsed * 1000 / steps)
                        overhead_ms.append((elapsed - sum(model.durations[calls:])) * 1000 / steps)
                        cpu_ms.append((cpu - sum(model.cpu[calls:])) * 1000 / steps)
            print(f"[{kind}] step wall time:          {describe(step_ms)}")
            print(f"[{kind}] runtime overhead per step: {describe(overhead_ms)} (model call excluded)")
            print(f"[{kind}] runtime CPU per step:      {describe(cpu_ms)} (model call excluded)")
            per_run = sum(cpu_ms) / runs
            print(
                f"[{kind}] runtime CPU per run:       mean {per_run:.2f} ms over {runs} runs (model calls excluded)"
            )
            print(f"[{kind}] load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        asyncio.run(measure(kind, args.runs))


if __name__ == "__main__":
    main()
