"""Switchboard against the peer runtime (Agno AgentOS), alternately, in one sitting (issue 18).

Workload, the same for both: the scripted OpenAI-compatible model in its own process with
`--latency-ms` per completion (300), each run one model call → one read tool (`lookup`) → one
model call, PostgreSQL at 127.0.0.1:5432 (a fresh database for every measurement), `--runs`
runs (1,000) started at once. Configurations, alternated A B C D, A B C D … over `--repeats`:

- peer-1w, peer-2w: benchmarks/peer_app.py (one agno Agent, PostgresDb storage, served by AgentOS)
  under uvicorn with 1 or 2 workers, in the peer's own virtualenv outside the repository
  (`--peer-venv`, created and filled from PyPI on first use, then reused: benchmarks/peer_rig.py).
- serve: `switchboard serve` on its defaults, no broker: the embedded in-process worker.
- celery: the API (`serve`) and 2 Celery workers (`switchboard worker`), Redis as broker,
  as benchmarks/scale_rig.py starts them.

How a run's end is seen. The peer answers its HTTP request when the run is done: that response is
both its ingress and its completion. Switchboard answers 202 at once, or 429/503 + Retry-After
when it sheds load or admission is full: the client waits it out, tries again (at most 30 times)
and counts the refusal. One watcher asks the database twice a second how many runs are still
open; once none are (or `--timeout` passes) the measurement window closes, and only then is
every run fetched with `GET /v1/runs/{id}`: its status and `updated_at` give its completion.
Latencies start at the client's first attempt; throughput is completed runs per second from the
first submission to the last completion. Every configuration gets 5 warm-up runs first.

Figures, min / median / max over the repeats: throughput, completion p50/p99, ingress p99
(the accepted attempt: request → HTTP answer), submit → accepted p99 (from the first attempt,
refusals waited out; for the peer, which answers at the end, the same as its completion), CPU per run of each process group (the runtime's
processes and their children; the PostgreSQL backends serving the measured database plus the
server's own processes; Redis, shared with whatever else runs here; the scripted model and this
load generator shown apart), PostgreSQL work per run (statements from pg_stat_statements when it
is in shared_preload_libraries, else commits from pg_stat_database, read-only ones included,
and rows inserted and updated: the table says which), the machine's CPU steal and load average.
CPU comes from /proc, read every second, so a process that exits loses at most its last second;
pg_stat_database is read after 11 s of quiet (PostgreSQL 15 publishes a backend's counters late).

    python -m benchmarks.peer_compare                          # 1,000 runs × 3 repeats (minutes)
    python -m benchmarks.peer_compare --runs 30 --repeats 1    # smoke
    python -m benchmarks.peer_compare --configs serve peer-2w --runs 200

Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust) and Redis at 127.0.0.1:6379 (celery).
Only 127.0.0.1 is reached once the peer's virtualenv exists.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from benchmarks.accounting import (
    WATCH_MARK,
    CpuLedger,
    PgCounters,
    Roles,
    drop_database,
    fresh_database,
    pg_per_run,
    read_cpu_line,
    read_pg_counters,
    read_procs,
)
from benchmarks.peer_figures import (
    CONFIGS,
    Config,
    Measurement,
    Outcome,
    format_tables,
    has_statements,
    measure,
)
from benchmarks.peer_rig import (
    DEFAULT_VENV,
    PEER_PACKAGE,
    PEER_VERSION,
    Peer,
    PeerOptions,
    ensure_peer_venv,
    peer_rig,
)
from benchmarks.scale_rig import Rig, RigOptions, rig

FINISHED = ("completed", "failed", "cancelled", "waiting_approval", "waiting_input")
MAX_RETRIES = 30  # a refused submission is tried again this many times at most
WARMUP_RUNS = 5
SAMPLE_EVERY_S = 1.0
# A PostgreSQL 15 backend publishes its counters at most once a second, and one that went idle
# within a second of its last report waits 10 s: read pg_stat_database only after 11 s of quiet.
STATS_SETTLE_S = 11.0


@dataclass(frozen=True)
class Workload:
    runs: int
    latency_ms: float
    users: int  # Switchboard API keys (and the peer's user_id values) the runs are spread over
    submitters: int  # connections submitting to Switchboard; the peer holds one per run
    timeout_s: float  # the longest one measurement may take
    peer_db: str = "sync"  # the peer's storage: agno's PostgresDb ("sync") or AsyncPostgresDb ("async")
    settings: tuple[tuple[str, str], ...] = ()  # SWITCHBOARD_* settings for Switchboard's processes


async def drive_peer(peer: Peer, w: Workload, runs: int, first: int = 0) -> Outcome:
    """`runs` runs at once, one HTTP request each; the answer is the run's end."""
    outcome = Outcome()
    connector = aiohttp.TCPConnector(limit=runs)
    timeout = aiohttp.ClientTimeout(total=w.timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def one(i: int) -> None:
            form = {"message": f"order {i}", "stream": "false", "user_id": f"user{i % w.users}"}
            wall, started = time.time(), time.perf_counter()
            try:
                async with client.post(f"{peer.url}/agents/bench/runs", data=form) as response:
                    body = await response.json(content_type=None)
                ok = response.status == 200 and isinstance(body, dict) and body.get("status") == "COMPLETED"
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                print(f"    peer run {i}: {type(exc).__name__}: {exc}")
                ok = False
            elapsed = time.perf_counter() - started
            if not ok:
                outcome.errors += 1
                return
            outcome.submitted.append(wall)
            outcome.ingress.append(elapsed)
            outcome.accepted.append(elapsed)
            outcome.finished.append(wall + elapsed)

        await asyncio.gather(*(one(first + i) for i in range(runs)))
    return outcome


# ---------------------------------------------------------------- Switchboard


@dataclass
class Accepted:
    run_id: str
    key: str
    submitted: float  # wall clock, first attempt
    ingress: float  # seconds, the accepted attempt
    accepted: float  # seconds from the first attempt to the accepted answer


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (connection error, timeout)
    body: dict[str, Any]
    seconds: float  # the last attempt's
    refusals: int


async def call(client: aiohttp.ClientSession, method: str, url: str, key: str, **kwargs: Any) -> Answer:
    """One API request; a 429/503 (shed, or admission full) is waited out for its Retry-After
    (at most 10 s) and tried again, at most MAX_RETRIES times, and counted."""
    headers = {"Authorization": f"Bearer {key}"}
    refusals = 0
    while True:
        started = time.perf_counter()
        try:
            async with client.request(method, url, headers=headers, **kwargs) as response:
                body = await response.json(content_type=None)
                retry_after = response.headers.get("Retry-After", "1")
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return Answer(
                0, {"error": f"{type(exc).__name__}: {exc}"}, time.perf_counter() - started, refusals
            )
        elapsed = time.perf_counter() - started
        if response.status not in (429, 503) or refusals == MAX_RETRIES:
            return Answer(response.status, body if isinstance(body, dict) else {}, elapsed, refusals)
        refusals += 1
        await asyncio.sleep(min(10.0, float(retry_after) if retry_after.isdigit() else 1.0))


async def submit_all(r: Rig, w: Workload, runs: int, first: int, outcome: Outcome) -> list[Accepted]:
    """Submit every run at once over `w.submitters` connections, refusals waited out."""
    accepted: list[Accepted] = []
    connector = aiohttp.TCPConnector(limit=w.submitters)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as client:

        async def one(i: int) -> None:
            key, wall = r.keys[i % len(r.keys)], time.time()
            body = {"bot": "bench", "message": f"order {i}"}
            answer = await call(client, "POST", f"{r.api_url}/v1/runs", key, json=body)
            outcome.refusals += answer.refusals
            if answer.status == 202:
                run_id = str(answer.body["id"])
                accepted.append(Accepted(run_id, key, wall, answer.seconds, time.time() - wall))
            else:
                print(f"    submit {i}: {answer.status} {answer.body}")
                outcome.errors += 1

        await asyncio.gather(*(one(first + i) for i in range(runs)))
    return accepted


async def wait_open_runs(database_url: str, deadline: float, outcome: Outcome) -> None:
    """Until no run in the database is open (or the deadline): one cheap query twice a second."""
    finished = ", ".join(f"'{s}'" for s in FINISHED)
    query = f"SELECT count(*) FROM runs WHERE status NOT IN ({finished}) {WATCH_MARK}"
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = await (await conn.execute(query.encode())).fetchone()
            outcome.own_xacts += 1
            if row is not None and row[0] == 0:
                return
            await asyncio.sleep(0.5)
    print("    timed out waiting for the runs to finish")


async def fetch_finished(r: Rig, accepted: list[Accepted], outcome: Outcome) -> None:
    """`GET /v1/runs/{id}` for every accepted run, a few at a time (after the measurement, so
    their refusals are not counted): a completed run gives its `updated_at`."""
    gate = asyncio.Semaphore(8)
    others: Counter[str] = Counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as client:

        async def one(a: Accepted) -> None:
            async with gate:
                answer = await call(client, "GET", f"{r.api_url}/v1/runs/{a.run_id}", a.key)
            if answer.status != 200 or answer.body.get("status") != "completed":
                others[f"{answer.status} {answer.body.get('status', answer.body)}"] += 1
                return
            outcome.submitted.append(a.submitted)
            outcome.ingress.append(a.ingress)
            outcome.accepted.append(a.accepted)
            outcome.finished.append(datetime.fromisoformat(answer.body["updated_at"]).timestamp())

        await asyncio.gather(*(one(a) for a in accepted))
    if others:
        print(f"    not completed: {dict(others)}")


def switchboard_options(config: Config, w: Workload, database_url: str, port: int) -> RigOptions:
    env = {"SWITCHBOARD_BROKER_URL": ""} if config.kind == "serve" else {}
    env |= dict(w.settings)
    return RigOptions(
        workers=config.workers,
        latency_ms=w.latency_ms,
        users=w.users,
        extra_env=env,
        database_url=database_url,
        api_port=port,
        model_port=port + 1,
    )


# ---------------------------------------------------------------- one measurement


@dataclass
class Probe:
    """CPU per process group (sampled every second), steal ticks, PostgreSQL counters."""

    roles: Roles
    ledger: CpuLedger = field(init=False)
    ticks: list[tuple[int, int]] = field(default_factory=list)
    pg_before: PgCounters | None = None
    started: float = 0.0
    _sampler: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.ledger = CpuLedger(self.roles)

    async def start(self) -> None:
        await asyncio.sleep(STATS_SETTLE_S)  # the warm-up's counters published
        self.pg_before = await asyncio.to_thread(read_pg_counters, self.roles.database)
        self.ledger.start(await asyncio.to_thread(read_procs))
        self.ticks = [read_cpu_line()]
        self.started = time.monotonic()
        self._sampler = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_EVERY_S)
            self.ledger.observe(await asyncio.to_thread(read_procs))

    async def stop(self) -> tuple[dict[str, float], float]:
        """CPU seconds per group and the wall seconds since start."""
        assert self._sampler is not None
        self._sampler.cancel()
        self.ledger.observe(await asyncio.to_thread(read_procs))
        self.ticks.append(read_cpu_line())
        return self.ledger.totals(), time.monotonic() - self.started

    async def pg(self, runs: int, own_xacts: int) -> dict[str, float]:
        await asyncio.sleep(STATS_SETTLE_S)
        after = await asyncio.to_thread(read_pg_counters, self.roles.database)
        assert self.pg_before is not None
        return pg_per_run(self.pg_before, after, runs, own_xacts)


async def measure_peer(config: Config, w: Workload, venv: Path, database: str, logs: Path) -> Measurement:
    url = await asyncio.to_thread(fresh_database, database)
    options = PeerOptions(config.workers, PORTS[config.key], w.latency_ms, w.peer_db, venv)
    async with peer_rig(options, url, logs / config.key) as peer:
        warm = await drive_peer(peer, w, WARMUP_RUNS, first=w.runs)
        if warm.errors:
            raise RuntimeError(f"the peer failed {warm.errors} of {WARMUP_RUNS} warm-up runs: see {logs}")
        probe = Probe(Roles(runtime=(peer.server.pid,), model=(peer.model.pid,), database=database))
        await probe.start()
        outcome = await drive_peer(peer, w, w.runs)
        cpu, wall = await probe.stop()
        pg = await probe.pg(len(outcome.finished), 0)
    return measure(config, w.runs, outcome, cpu, pg, (probe.ticks[0], probe.ticks[1]), wall)


async def measure_switchboard(config: Config, w: Workload, database: str, logs: Path) -> Measurement:
    url = await asyncio.to_thread(fresh_database, database)
    options = switchboard_options(config, w, url, PORTS[config.key])
    async with rig(options, logs / config.key) as r:
        warm = Outcome()
        await submit_all(r, w, WARMUP_RUNS, w.runs, warm)
        await wait_open_runs(url, time.monotonic() + 60, warm)
        runtime = (r.api.pid, *(p.pid for p in r.workers))
        probe = Probe(Roles(runtime=runtime, model=(r.model.pid,), database=database))
        await probe.start()
        outcome = Outcome()
        accepted = await submit_all(r, w, w.runs, 0, outcome)
        await wait_open_runs(url, probe.started + w.timeout_s, outcome)
        cpu, wall = await probe.stop()
        pg = await probe.pg(len(accepted), outcome.own_xacts)
        await fetch_finished(r, accepted, outcome)
    return measure(config, w.runs, outcome, cpu, pg, (probe.ticks[0], probe.ticks[1]), wall)


PORTS = {"peer-1w": 18610, "peer-2w": 18620, "serve": 18630, "celery": 18640}  # +1: its scripted model


async def measure_config(config: Config, w: Workload, venv: Path, logs: Path) -> Measurement:
    database = f"peer_compare_{config.key.replace('-', '_')}_{os.getpid()}"
    try:
        if config.kind == "peer":
            return await measure_peer(config, w, venv, database, logs)
        return await measure_switchboard(config, w, database, logs)
    finally:
        await asyncio.to_thread(drop_database, database)


# ---------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1000, help="concurrent runs per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of every configuration, alternated")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument(
        "--latency-ms", type=float, default=300.0, help="the scripted model's latency per completion"
    )
    parser.add_argument("--users", type=int, default=100, help="API keys (users) the runs are spread over")
    parser.add_argument("--submitters", type=int, default=100, help="connections submitting to Switchboard")
    parser.add_argument("--timeout", type=float, default=900.0, help="longest measurement, seconds")
    parser.add_argument("--peer-venv", type=Path, default=DEFAULT_VENV, help="the peer's own virtualenv")
    parser.add_argument(
        "--peer-db", choices=["sync", "async"], default="sync", help="agno's PostgresDb or AsyncPostgresDb"
    )
    parser.add_argument("--logs", type=Path, help="keep the processes' logs here")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a SWITCHBOARD_* setting for Switchboard's processes (repeatable), e.g. SWITCHBOARD_ENGINE__WORKERS=8",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 10_000 or not 1 <= args.repeats <= 10 or not 10 <= args.timeout <= 3600:
        parser.error("1 ≤ --runs ≤ 10000, 1 ≤ --repeats ≤ 10, 10 ≤ --timeout ≤ 3600")
    return args


async def compare(args: argparse.Namespace, logs: Path) -> dict[str, list[Measurement]]:
    pairs = [item.partition("=") for item in args.set]
    settings = tuple((name, value) for name, sep, value in pairs if sep)
    w = Workload(
        args.runs, args.latency_ms, args.users, args.submitters, args.timeout, args.peer_db, settings
    )
    results: dict[str, list[Measurement]] = {key: [] for key in args.configs}
    for repeat in range(args.repeats):
        for key in args.configs:
            print(f"[{repeat + 1}/{args.repeats}] {CONFIGS[key].label}: {w.runs} runs", flush=True)
            try:
                measured = await measure_config(CONFIGS[key], w, args.peer_venv, logs)
            except (
                RuntimeError,
                OSError,
                subprocess.SubprocessError,
                psycopg.Error,
                aiohttp.ClientError,
            ) as exc:
                print(f"  failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            print(measured.line(), flush=True)
            results[key].append(measured)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if any(CONFIGS[k].kind == "peer" for k in args.configs):
        version = ensure_peer_venv(args.peer_venv)
        note = "" if version == PEER_VERSION else f" (not {PEER_VERSION}: the nearest that installed)"
        storage = "AsyncPostgresDb" if args.peer_db == "async" else "PostgresDb"
        print(f"peer: {PEER_PACKAGE} {version}{note} in {args.peer_venv}, storage {storage}")
    cores = os.cpu_count()
    print(f"model {args.latency_ms:g} ms per completion; {cores} cores; load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as scratch:
        logs = args.logs or Path(scratch)
        logs.mkdir(parents=True, exist_ok=True)
        results = asyncio.run(compare(args, logs))
    print()
    print(format_tables({k: v for k, v in results.items() if v}, args.runs))
    counted = (
        "statements (pg_stat_statements)"
        if has_statements(results)
        else "commits (pg_stat_database xact_commit, read-only transactions included)"
    )
    print(
        f"\nPostgreSQL work per run counts {counted}, rows inserted and updated (pg_stat_database) in the"
        " measured database only, the watcher's own queries taken out. PostgreSQL CPU: the backends of"
        " that database and the server's shared processes. Redis is shared with anything else on the machine."
    )


if __name__ == "__main__":
    main()
