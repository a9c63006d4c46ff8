"""Ingress under a closed loop of pollers: does submission and `/healthz` stay fast while the
process is saturated by reads and step work? Target (issue 16): submission p99 and `/healthz`
p99 ≤ 250 ms for `serve` (≤ 50 ms submission with Celery workers), refusals (429/503 with
Retry-After) counted rather than hidden, and nothing lost.

N clients each submit a run, poll it once a second until it is finished, then submit the next,
for `--seconds`; a refused submission waits its Retry-After (at most a second) and tries again.
A prober asks `/healthz` every `--health-every` seconds. Afterwards every accepted run is
awaited (at most `--drain` seconds) in the database: an accepted run that never finished is lost.

    python -m benchmarks.serve_load [--mode serve|celery] [--db sqlite|postgres] [--clients 300] [--seconds 60]

PostgreSQL (a fresh database) at 127.0.0.1:5432 and Redis at 127.0.0.1:6379, as for the scale rig.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psycopg

from benchmarks.scale_rig import Rig, RigOptions, http_client, load, percentile, process_cpu_s, rig

FINISHED = {"completed", "failed", "cancelled", "waiting_approval", "waiting_input"}


@dataclass
class Tally:
    submit: list[float] = field(default_factory=list)
    poll: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    codes: dict[str, Counter[str]] = field(default_factory=dict)
    no_retry_after: int = 0  # refusals without a Retry-After header
    accepted: list[str] = field(default_factory=list)
    run_times: list[float] = field(default_factory=list)  # submit → seen finished, by polling

    def count(self, kind: str, status: int, headers: object) -> None:
        bucket = "2xx" if 200 <= status < 300 else str(status) if status in (429, 503) else "other"
        if status == 0:
            bucket = "error"
        self.codes.setdefault(kind, Counter())[bucket] += 1
        if status in (429, 503) and "Retry-After" not in headers:  # type: ignore[operator]
            self.no_retry_after += 1


async def _request(
    client: aiohttp.ClientSession, method: str, url: str, **kwargs: object
) -> tuple[int, float, dict[str, object], dict[str, str]]:
    started = time.perf_counter()
    try:
        async with client.request(method, url, **kwargs) as response:  # type: ignore[arg-type]
            body = await response.json(content_type=None)
            return response.status, time.perf_counter() - started, body or {}, dict(response.headers)
    except (aiohttp.ClientError, TimeoutError):
        return 0, time.perf_counter() - started, {}, {}


def _retry_after(headers: dict[str, str]) -> float:
    try:
        return min(1.0, float(headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


async def _client(client: aiohttp.ClientSession, r: Rig, i: int, deadline: float, tally: Tally) -> None:
    key = r.keys[i % len(r.keys)]
    auth = {"Authorization": f"Bearer {key}"}
    n = 0
    while time.monotonic() < deadline:
        n += 1
        body = {"bot": "bench", "message": f"order {i}-{n}"}
        status, elapsed, answer, headers = await _request(
            client, "POST", f"{r.api_url}/v1/runs", json=body, headers=auth
        )
        tally.count("submit", status, headers)
        tally.submit.append(elapsed)
        if status != 202:
            await asyncio.sleep(_retry_after(headers))
            continue
        run_id = str(answer["id"])
        tally.accepted.append(run_id)
        submitted = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            status, elapsed, answer, headers = await _request(
                client, "GET", f"{r.api_url}/v1/runs/{run_id}", headers=auth
            )
            tally.count("poll", status, headers)
            tally.poll.append(elapsed)
            if status == 200 and answer.get("status") in FINISHED:
                tally.run_times.append(time.monotonic() - submitted)
                break


async def _prober(client: aiohttp.ClientSession, r: Rig, every: float, deadline: float, tally: Tally) -> None:
    while time.monotonic() < deadline:
        status, elapsed, _, headers = await _request(client, "GET", f"{r.api_url}/healthz")
        tally.count("healthz", status, headers)
        tally.health.append(elapsed)
        await asyncio.sleep(every)


def _statuses(database_url: str) -> dict[str, str]:
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return dict(conn.execute("SELECT id, status FROM runs").fetchall())
    with psycopg.connect(database_url) as conn:
        return {str(k): str(v) for k, v in conn.execute("SELECT id, status FROM runs").fetchall()}


async def _drain(r: Rig, accepted: list[str], seconds: float) -> dict[str, str]:
    deadline = time.monotonic() + seconds
    while True:
        statuses = await asyncio.to_thread(_statuses, r.database_url)
        open_ = [i for i in accepted if statuses.get(i) not in FINISHED]
        if not open_ or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(1.0)


def _line(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name}: none"
    return (
        f"  {name}: p50 {percentile(values, 50) * 1000:.1f} ms, p99 {percentile(values, 99) * 1000:.1f} ms, "
        f"max {max(values) * 1000:.1f} ms, n={len(values)}"
    )


async def measure(r: Rig, clients: int, seconds: float, health_every: float, drain: float) -> None:
    print(f"  before: {load()}")
    tally = Tally()
    api_cpu, own_cpu = process_cpu_s(r.api.pid), time.process_time()
    started = time.monotonic()
    deadline = started + seconds
    async with http_client(clients + 10) as client:
        await asyncio.gather(
            _prober(client, r, health_every, deadline, tally),
            *(_client(client, r, i, deadline, tally) for i in range(clients)),
        )
    wall = time.monotonic() - started
    api_cpu, own_cpu = process_cpu_s(r.api.pid) - api_cpu, time.process_time() - own_cpu
    print(f"  during: {load()}; API CPU {api_cpu:.1f}s, load generator {own_cpu:.1f}s over {wall:.1f}s")
    statuses = await _drain(r, tally.accepted, drain)
    finished = Counter(statuses.get(i, "missing") for i in tally.accepted)
    lost = sum(n for s, n in finished.items() if s not in FINISHED)
    print(_line("submit", tally.submit))
    print(_line("poll", tally.poll))
    print(_line("healthz", tally.health))
    for kind, codes in tally.codes.items():
        print(f"  {kind} statuses: {dict(sorted(codes.items()))}")
    print(f"  refusals without Retry-After: {tally.no_retry_after}")
    print(
        f"  runs: {len(tally.accepted)} accepted ({len(tally.accepted) / seconds:.1f}/s), "
        f"final {dict(finished)}, lost {lost}; seen finished by polling: p50 "
        f"{percentile(tally.run_times, 50):.2f}s, p99 {percentile(tally.run_times, 99):.2f}s"
    )
    print(f"  after: {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["serve", "celery"], default="serve")
    parser.add_argument(
        "--db", choices=["sqlite", "postgres"], help="default: sqlite for serve, postgres for celery"
    )
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--users", type=int, default=100, help="API keys the clients share")
    parser.add_argument("--health-every", type=float, default=0.25)
    parser.add_argument("--drain", type=float, default=120.0, help="longest wait for accepted runs to finish")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (--mode celery)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the scripted model's latency")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs here")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="extra environment for the service"
    )
    args = parser.parse_args()
    args.db = args.db or ("postgres" if args.mode == "celery" else "sqlite")
    if args.clients < 1 or not 0 < args.seconds <= 600:
        parser.error("--clients ≥ 1 and 0 < --seconds ≤ 600")
    asyncio.run(run(args))


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.logs or Path(scratch)
        env = {} if args.mode == "celery" else {"SWITCHBOARD_BROKER_URL": ""}
        env |= dict(item.split("=", 1) for item in args.set)
        options = RigOptions(
            workers=args.workers if args.mode == "celery" else 0,
            latency_ms=args.latency_ms,
            users=args.users,
            extra_env=env,
            database_url=f"sqlite:///{tmp}/serve_load.db" if args.db == "sqlite" else None,
            api_port=18450,
            model_port=18451,
        )
        print(
            f"serve_load: mode {args.mode}, {args.db}, {args.clients} closed-loop clients for {args.seconds:g}s, "
            f"model {args.latency_ms:g} ms"
        )
        async with rig(options, tmp) as r:
            await measure(r, args.clients, args.seconds, args.health_every, args.drain)


if __name__ == "__main__":
    main()
