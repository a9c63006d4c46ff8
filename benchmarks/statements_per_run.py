"""SQL statements and commits per run, counted at the driver: submit, then every step of the
benchmark workload (one model call → one read tool → one model call), with the runtime's default
admission limits on and the run's context assembled, as `serve` runs them. Counts, not timings:
the same on any machine.

    python -m benchmarks.statements_per_run [--db sqlite|postgres|both] [--runs 20] [--show]

Target (issue 18): at most 10 statements per run on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter

from sqlalchemy import event

from benchmarks.common import bench_setup, fresh_database
from benchmarks.step_overhead import ManualQueue
from core.engine.context import ContextAssembler
from core.engine.notifier import RunNotifier
from core.engine.worker import StepWorker, WorkerOptions
from core.runtime import Runtime, Submission
from core.settings import Settings
from service.scale import admission


async def count(kind: str, runs: int, show: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with bench_setup(fresh_database(kind, tmp)) as (store, bots, model, who):
            statements: list[str] = []
            commits = Counter[str]()

            def on_execute(_conn: object, _cursor: object, statement: str, *_: object) -> None:
                statements.append(" ".join(statement.split()[:4]))

            def on_commit(_conn: object) -> None:
                commits["commits"] += 1

            queue = ManualQueue()
            # As `serve` wires it: the model is told the surface, the user and the time.
            context = ContextAssembler(store.directory, store.clock)
            worker = StepWorker(store, bots, model, WorkerOptions(), context=context)
            runtime = Runtime(store, bots, queue, RunNotifier(), admission=admission(Settings(), store))
            event.listen(store.db.engine, "before_cursor_execute", on_execute)
            event.listen(store.db.engine, "commit", on_commit)
            for i in range(runs):
                await runtime.submit(who, Submission(bot="support", text=f"where is order 42? ({i})"))
                while queue.pending:
                    await worker.advance(queue.pending.pop(0), queue.enqueue)
            event.remove(store.db.engine, "before_cursor_execute", on_execute)
            event.remove(store.db.engine, "commit", on_commit)
            # SQLite's BEGIN is a statement of ours (core/store/database.py); PostgreSQL's is the driver's.
            counted = [s for s in statements if not s.startswith("BEGIN")]
            print(
                f"[{kind}] {len(counted) / runs:.1f} statements and {commits['commits'] / runs:.1f} commits"
                f" per run ({runs} runs, admission limits on)"
            )
            if show:
                for text, n in Counter(counted).most_common():
                    print(f"    {n / runs:4.1f}  {text}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--show", action="store_true", help="list the statements")
    args = parser.parse_args()
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        asyncio.run(count(kind, max(1, min(args.runs, 1000)), args.show))


if __name__ == "__main__":
    main()
