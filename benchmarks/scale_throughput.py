"""Throughput and completion time on Celery workers, and the CPU a step costs with Celery in the path.

Workload: the bench bot (model → lookup tool → model), the scripted model at 300 ms in its own
process, N conversations submitted at once through the REST API, PostgreSQL, Redis.
Targets (issue 5): ≥ 100 runs/s with two workers, p99 < 15 s, no errors; < 5 ms median CPU per
step excluding the model call.

    python -m benchmarks.scale_throughput [--runs 200] [--workers 1 2] [--concurrency 64]
    python -m benchmarks.scale_throughput --cpu-per-step [--runs 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
import psycopg

from benchmarks.scale_rig import (
    Rig,
    RigOptions,
    http_client,
    load,
    named_cpu_s,
    percentile,
    postgres_cpu_s,
    process_cpu_s,
    rig,
    submit,
)
from core.model.gateway import OpenAIGateway
from core.model.port import ModelRequest
from core.settings import ModelSettings

TIMEOUT_S = 900.0
MAX_RETRIES = 30  # a submission refused with 429 is tried again this many times at most
RETRY_AFTER_S = 1.0  # what the API sends in Retry-After
BATCH = 10


def _runs_table(database_url: str) -> list[tuple[str, float, float, int, str | None]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT status, created_at, updated_at, step, error_code FROM runs").fetchall()


def _active(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM runs WHERE status IN ('queued', 'running')").fetchone()
    return int(row[0]) if row else 0


async def _flood(r: Rig, runs: int, submitters: int) -> tuple[list[float], list[int], int]:
    """Submit `runs` runs through `submitters` clients. A client refused with 429 (the API sheds
    load) waits the Retry-After second and tries again, as a well-behaved client does, at most
    `MAX_RETRIES` times; the refusals are counted and returned."""
    gate = asyncio.Semaphore(submitters)
    refused = 0
    async with http_client(submitters) as client:

        async def one(i: int) -> tuple[int, float]:
            nonlocal refused
            async with gate:
                for _ in range(MAX_RETRIES + 1):
                    # A failed submission is counted as an error, not the end of the benchmark.
                    try:
                        code, elapsed, _ = await submit(client, r, r.keys[i % len(r.keys)], f"order {i}")
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        print(f"  submit {i}: {type(exc).__name__}: {exc}")
                        return 0, float("nan")
                    if code != 429:
                        break
                    refused += 1
                    await asyncio.sleep(RETRY_AFTER_S)
                return code, elapsed

        results = await asyncio.gather(*(one(i) for i in range(runs)))
    return [e for _, e in results], [c for c, _ in results], refused


async def throughput(r: Rig, runs: int, submitters: int) -> None:
    print(f"  before: {load()}")
    cpu = {"api": process_cpu_s(r.api.pid), "workers": r.workers_cpu_s(), "model": process_cpu_s(r.model.pid)}
    pg, redis, own = postgres_cpu_s(), named_cpu_s("redis-server"), process_cpu_s(os.getpid())
    started = time.monotonic()
    latencies, codes, refused = await _flood(r, runs, submitters)
    deadline = started + TIMEOUT_S
    while time.monotonic() < deadline and await asyncio.to_thread(_active, r.database_url) > 0:
        await asyncio.sleep(0.5)
    wall = time.monotonic() - started
    cpu = {
        "api": process_cpu_s(r.api.pid) - cpu["api"],
        "workers": r.workers_cpu_s() - cpu["workers"],
        "model": process_cpu_s(r.model.pid) - cpu["model"],
        "postgres": sum(v - pg.get(pid, 0.0) for pid, v in postgres_cpu_s().items()),
    }
    cores = os.cpu_count() or 1
    outside = {  # not Switchboard's, but on the same two cores
        "load generator": process_cpu_s(os.getpid()) - own,
        "redis": sum(v - redis.get(pid, 0.0) for pid, v in named_cpu_s("redis-server").items()),
    }
    rows = await asyncio.to_thread(_runs_table, r.database_url)
    done = [row for row in rows if row[0] == "completed"]
    times = [updated - created for _, created, updated, _, _ in done]
    span = max(u for _, _, u, _, _ in done) - min(c for _, c, _, _, _ in done) if done else float("nan")
    steps = sum(row[3] for row in done)
    created = [c for _, c, _, _, _ in rows]
    intake = max(created) - min(created) if created else float("nan")
    errors = sum(code != 202 for code in codes) + (len(rows) - len(done))
    if errors:
        print(
            f"  not 202: {Counter(c for c in codes if c != 202)}; not completed: {Counter((s, e) for s, *_, e in rows if s != 'completed')}"
        )
    print(
        f"  {len(done)}/{runs} completed in {span:.1f}s → {len(done) / span:.1f} runs/s; errors {errors}; "
        f"wall {wall:.1f}s; submitted over {intake:.1f}s"
    )
    print(
        f"  completion p50 {percentile(times, 50):.2f}s p95 {percentile(times, 95):.2f}s "
        f"p99 {percentile(times, 99):.2f}s max {max(times, default=float('nan')):.2f}s"
    )
    print(
        f"  submit (202) p50 {percentile(latencies, 50) * 1000:.1f}ms p99 {percentile(latencies, 99) * 1000:.1f}ms "
        f"with {submitters} concurrent clients; {refused} refusals (429) waited out and retried"
    )
    print(
        f"  CPU: workers {cpu['workers']:.1f}s ({cpu['workers'] / max(steps, 1) * 1000:.2f} ms/step mean over "
        f"{steps} steps, model client included), api {cpu['api']:.1f}s, postgres {cpu['postgres']:.1f}s, "
        f"scripted model {cpu['model']:.1f}s → {sum(cpu.values()) * 1000 / max(len(done), 1):.0f} ms CPU per run"
    )
    print(
        f"  CPU outside: load generator {outside['load generator']:.1f}s, redis {outside['redis']:.1f}s; "
        f"all measured {sum(cpu.values()) + sum(outside.values()):.1f}s of {cores * wall:.1f}s "
        f"(wall × {cores} cores)"
    )
    print(f"  after: {load()}")


async def _wait_done(database_url: str, run_id: str, timeout: float = 30.0) -> int:
    def poll() -> tuple[str, int]:
        with psycopg.connect(database_url) as conn:
            deadline = time.monotonic() + timeout
            while True:
                row = conn.execute("SELECT status, step FROM runs WHERE id = %s", (run_id,)).fetchone()
                assert row is not None
                if row[0] not in ("queued", "running") or time.monotonic() > deadline:
                    return str(row[0]), int(row[1])
                time.sleep(0.002)

    status, steps = await asyncio.to_thread(poll)
    if status != "completed":
        raise RuntimeError(f"run {run_id} ended {status}")
    return steps


async def _model_client_cpu_ms(base_url: str, calls: int = 200) -> float:
    """CPU the worker's model client spends per call (the SDK), measured here against the same server."""
    gateway = OpenAIGateway(ModelSettings(base_url=base_url, max_retries=0))
    request = ModelRequest(models=("bench-model",), messages=[{"role": "user", "content": "order 1"}])
    samples = []
    try:
        for _ in range(calls):
            started = time.process_time()
            await gateway.complete(request)
            samples.append((time.process_time() - started) * 1000)
    finally:
        await gateway.aclose()
    return statistics.median(samples)


async def cpu_per_step(r: Rig, runs: int) -> None:
    print(f"  before: {load()}")
    worker = r.workers[0].pid
    idle_from = process_cpu_s(worker)
    await asyncio.sleep(5)
    idle_ms_per_s = (process_cpu_s(worker) - idle_from) * 1000 / 5
    # /proc counts CPU in 10 ms ticks: measure batches of sequential runs, then take the median batch.
    per_step: list[float] = []
    async with http_client(1) as client:
        for batch in range(max(1, runs // BATCH)):
            before, steps = process_cpu_s(worker), 0
            for i in range(BATCH):
                code, _, body = await submit(client, r, r.keys[0], f"order {batch * BATCH + i}")
                assert code == 202, body
                steps += await _wait_done(r.database_url, str(body["id"]))
            per_step.append((process_cpu_s(worker) - before) * 1000 / steps)
    model_ms = await _model_client_cpu_ms(f"http://127.0.0.1:{r.options.model_port}/v1")
    model_share = model_ms * 2 / 3  # two model calls in three steps
    median = statistics.median(per_step)
    print(
        f"  worker CPU per step: median {median:.2f} ms, p90 {percentile(per_step, 90):.2f} ms "
        f"({len(per_step)} batches of {BATCH} sequential runs, 3 steps each)"
    )
    print(f"  of which the model client (SDK): {model_ms:.2f} ms per call → {model_share:.2f} ms per step")
    print(f"  → runtime overhead with Celery: median {median - model_share:.2f} ms per step")
    print(f"  idle worker background (sweeper, queue polls): {idle_ms_per_s:.2f} ms CPU per second")
    print(f"  after: {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=64, help="steps at once per worker process")
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--submitters", type=int, default=100, help="concurrent HTTP clients")
    parser.add_argument(
        "--cpu-per-step", action="store_true", help="one worker, one step at a time, no latency"
    )
    parser.add_argument("--logs", type=Path, help="keep the processes' logs here")
    args = parser.parse_args()
    limits = {  # the benchmark measures the engine, not the admission limits
        "SWITCHBOARD_ADMISSION__MAX_ACTIVE_RUNS_PER_USER": "100000",
        "SWITCHBOARD_ADMISSION__MAX_ACTIVE_RUNS_PER_TENANT": "100000",
        "SWITCHBOARD_ADMISSION__MAX_QUEUE_DEPTH": "100000",
    }
    asyncio.run(run(args, limits))


async def run(args: argparse.Namespace, limits: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.logs or Path(scratch)
        if args.cpu_per_step:
            options = RigOptions(workers=1, concurrency=1, latency_ms=0.0, users=1, extra_env=limits)
            print(f"CPU per step, Celery threads pool of one, {args.runs} sequential runs")
            async with rig(options, tmp / "cpu") as r:
                await cpu_per_step(r, args.runs)
            return
        for workers in args.workers:
            ports = {"api_port": 18400 + 10 * workers, "model_port": 18401 + 10 * workers}  # fresh per rig
            options = RigOptions(workers, args.concurrency, args.latency_ms, extra_env=limits, **ports)
            print(
                f"{args.runs} runs, {workers} worker(s) × {args.concurrency} steps, model {args.latency_ms:g} ms, "
                "PostgreSQL + Redis"
            )
            async with rig(options, tmp / f"w{workers}") as r:
                await throughput(r, args.runs, args.submitters)


if __name__ == "__main__":
    main()
