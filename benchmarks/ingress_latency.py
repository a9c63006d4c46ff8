"""Ingress latency (submit → 202) while the workers are saturated. Target (issue 5): p99 < 50 ms.

A flood of N runs through the REST API saturates the workers; then, while they are still busy,
a paced probe submits at a steady rate and times each request. The API's CPU per request is
reported too. With `--hard-cap M` the flood runs into the queue-depth cap, and the probe shows
the latency of the refusals (429 with Retry-After) as well.

    python -m benchmarks.ingress_latency [--flood 1000] [--rate 20] [--seconds 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.scale_rig import Rig, RigOptions, http_client, load, percentile, process_cpu_s, rig, submit
from benchmarks.scale_throughput import _active, _flood


async def probe(r: Rig, rate: float, seconds: float) -> tuple[list[float], Counter[int]]:
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    tasks = []
    async with http_client(50) as client:

        async def one(i: int) -> None:
            code, elapsed, _ = await submit(client, r, r.keys[i % len(r.keys)], f"order {i}")
            codes[code] += 1
            latencies.append(elapsed)

        started = time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return latencies, codes


async def measure(r: Rig, flood: int, rate: float, seconds: float) -> None:
    print(f"  before: {load()}")
    api_cpu = process_cpu_s(r.api.pid)
    flood_latencies, flood_codes = await _flood(r, flood, 100)
    flood_cpu = process_cpu_s(r.api.pid) - api_cpu
    print(
        f"  flood of {flood} (100 concurrent clients): p50 {percentile(flood_latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(flood_latencies, 99) * 1000:.1f} ms; statuses {dict(Counter(flood_codes))}; "
        f"API CPU {flood_cpu * 1000 / flood:.2f} ms per request"
    )
    active_before = await asyncio.to_thread(_active, r.database_url)
    api_cpu = process_cpu_s(r.api.pid)
    latencies, codes = await probe(r, rate, seconds)
    probe_cpu = process_cpu_s(r.api.pid) - api_cpu
    active_after = await asyncio.to_thread(_active, r.database_url)
    print(
        f"  probe at {rate:g}/s for {seconds:g}s with {active_before}→{active_after} runs active (workers busy): "
        f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p95 {percentile(latencies, 95) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms; "
        f"statuses {dict(codes)}; API CPU {probe_cpu * 1000 / max(1, len(latencies)):.2f} ms per request"
    )
    print(f"  after: {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flood", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="probe submissions per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--hard-cap", type=int, help="SWITCHBOARD_ADMISSION__MAX_QUEUE_DEPTH")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="extra niceness on top of the workers' own (SWITCHBOARD_QUEUE__WORKER_NICE, default 10)",
    )
    args = parser.parse_args()
    env = {
        "SWITCHBOARD_ADMISSION__MAX_ACTIVE_RUNS_PER_USER": "100000",
        "SWITCHBOARD_ADMISSION__MAX_ACTIVE_RUNS_PER_TENANT": "100000",
        "SWITCHBOARD_ADMISSION__MAX_QUEUE_DEPTH": str(args.hard_cap or 100000),
    }
    options = RigOptions(
        args.workers, args.concurrency, args.latency_ms, extra_env=env, worker_nice=args.worker_nice
    )
    cap = (f", hard cap {args.hard_cap}" if args.hard_cap else "") + (
        f", workers at nice {args.worker_nice}" if args.worker_nice else ""
    )
    print(
        f"ingress under load: {args.workers} worker(s) × {args.concurrency}, model {args.latency_ms:g} ms{cap}"
    )
    asyncio.run(run(options, args.flood, args.rate, args.seconds))


async def run(options: RigOptions, flood: int, rate: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with rig(options, Path(tmp)) as r:
            await measure(r, flood, rate, seconds)


if __name__ == "__main__":
    main()
