"""Cost per turn must not grow with session length: turn 500 of one session within 1.25× of turn 10.

Each turn is a full run ("where is order 42?": model → lookup_order → model) in the same session,
driven step by step on one worker with the scripted model (in its own process) at zero latency.
Reported: the median wall time and CPU time (this process: runtime, store threads, model client)
of turns 1-20 and of the last 20 turns, and their ratios. CPU time is the steadier figure on a
machine shared with other work.

    python -m benchmarks.session_length [--turns 500] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

from benchmarks.common import bench_setup, fresh_database
from benchmarks.step_overhead import ManualQueue
from core.engine.notifier import RunNotifier
from core.engine.worker import StepWorker, WorkerOptions
from core.runtime import Runtime, Submission


async def measure(kind: str, turns: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with bench_setup(fresh_database(kind, tmp)) as (store, bots, model, who):
            queue = ManualQueue()
            worker = StepWorker(store, bots, model, WorkerOptions())
            runtime = Runtime(store, bots, queue, RunNotifier())
            turn_ms: list[float] = []
            turn_cpu: list[float] = []
            prompt_tokens: list[int] = []
            for i in range(turns):
                start, start_cpu = time.perf_counter(), time.process_time()
                submitted = await runtime.submit(
                    who, Submission(bot="support", text="where is order 42?", thread_key="one-long-session")
                )
                await queue.drain(worker)
                turn_ms.append((time.perf_counter() - start) * 1000)
                turn_cpu.append((time.process_time() - start_cpu) * 1000)
                assert submitted.run is not None
                run = await runtime.run(who, submitted.run.id)
                assert run.status.value == "completed", run
                prompt_tokens.append(run.prompt_tokens)
                if (i + 1) % 100 == 0:
                    print(f"[{kind}] {i + 1} turns", flush=True)
            for label, series in (("wall", turn_ms), ("cpu", turn_cpu)):
                early, late = statistics.median(series[:20]), statistics.median(series[-20:])
                print(
                    f"[{kind}] {label}: turns 1-20 {early:.2f} ms, turns {turns - 19}-{turns} {late:.2f} ms, "
                    f"ratio {late / early:.2f} (target ≤ 1.25)"
                )
            print(
                f"[{kind}] prompt tokens per turn {prompt_tokens[9]} → {prompt_tokens[-1]}; "
                f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        asyncio.run(measure(kind, args.turns))


if __name__ == "__main__":
    main()
