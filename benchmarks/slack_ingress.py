"""Slack ingress latency: signed `app_mention` events at a steady rate against `switchboard serve`
in its own process on 127.0.0.1, its dispatcher posting to a local stand-in of the Slack Web API
(a third process). Reported: p50/p95/p99 of the HTTP response time, measured from the moment
each event was due to be sent (open loop: a slow answer delays nothing else, and time spent
waiting for a free connection counts). Target: p99 < 100 ms at 200 events/s.

Topologies:
    one     `switchboard serve` runs every step of every run itself (the default deployment)
    split   serve only records messages and creates runs; a `switchboard worker` process runs
            the steps (how one scales out: more worker processes, or Celery)
    ingress serve only records messages and creates runs, and nothing runs them: ingress alone

The load is bounded in count (rate × seconds) and in wall time.

    python -m benchmarks.slack_ingress [--rate 200] [--seconds 10] [--db sqlite|postgres]
                                       [--topology one|split|ingress]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from benchmarks.common import fresh_database, percentile
from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID, sign

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
CONNECTIONS = 64


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(args: list[str], env: dict[str, str], log: Path, nice: int = 0) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
        )


def service_env(db_url: str, slack_url: str, in_process_workers: bool) -> dict[str, str]:
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": db_url,
        "SWITCHBOARD_SLACK__BOT_TOKEN": TOKEN,
        "SWITCHBOARD_SLACK__SIGNING_SECRET": SECRET,
        "SWITCHBOARD_SLACK__API_BASE_URL": slack_url,
    }
    for name in ("OPENAI_BASE_URL", "SWITCHBOARD_MODEL__BASE_URL"):  # the offline demo model, always
        env.pop(name, None)
    if not in_process_workers:  # an ingress-only process: a worker process steps and delivers
        env["SWITCHBOARD_ENGINE__WORKERS"] = "0"
        env["SWITCHBOARD_SLACK__DELIVER"] = "false"
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux), to report CPU per event."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def wait_for_log(log: Path, needle: str, deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    while needle not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {needle!r} in the processes' log")
        time.sleep(0.2)


def event_request(n: int, port: int) -> bytes:
    ts = f"{1_700_000_000 + n}.000100"
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "api_app_id": "A1",
            "event_id": f"EvBench{n:08d}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_mention",
                "user": f"U{n % 50:04d}",
                "channel": f"C{n % 20:03d}",
                "ts": ts,
                "text": f"<@{BOT_USER_ID}> where is order 42? ({n})",
                "event_ts": ts,
            },
        }
    ).encode()
    headers = {
        "Host": f"127.0.0.1:{port}",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        **sign(SECRET, body),
    }
    head = "POST /slack/events HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + body


class Connection:
    """A bare keep-alive HTTP/1.1 connection: the load generator must cost far less than the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return int(status_line.split()[1])


async def load(port: int, rate: float, seconds: float) -> tuple[list[float], list[str], float]:
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        pool.put_nowait(Connection(*await asyncio.open_connection("127.0.0.1", port)))
    latencies: list[float] = []
    failures: list[str] = []

    async def send(n: int, due: float) -> None:
        request = event_request(n, port)
        conn = await pool.get()
        try:
            status = await asyncio.wait_for(conn.exchange(request), 10)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            failures.append(type(exc).__name__)
            conn = Connection(*await asyncio.open_connection("127.0.0.1", port))
        else:
            latencies.append((time.perf_counter() - due) * 1000)
            if status != 200:
                failures.append(str(status))
        pool.put_nowait(conn)

    for n in range(20):  # warm-up (the first event pays for auth.test); not measured
        await send(90_000_000 + n, time.perf_counter())
    latencies.clear()
    total = int(rate * seconds)
    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    for n in range(total):
        due = start + n / rate
        if due - time.perf_counter() > 0:
            await asyncio.sleep(due - time.perf_counter())
        if time.perf_counter() > start + seconds + 5:
            break
        tasks.append(asyncio.create_task(send(n, due)))
    await asyncio.wait(tasks, timeout=30)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().writer.close()
    return latencies, failures, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--topology", choices=["one", "split", "ingress"], default="one")
    parser.add_argument("--worker-nice", type=int, default=0, help="split: extra niceness for the worker")
    parser.add_argument("--worker-steps", type=int, default=8, help="split: steps the worker runs at once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        log = Path(tmp) / "processes.log"
        slack_port, port = free_port(), free_port()
        slack = spawn(["-m", "tests.fakes.slack_api", str(slack_port), TOKEN], dict(os.environ), log)
        stack.callback(slack.wait, 30)
        stack.callback(slack.terminate)
        wait_http(f"http://127.0.0.1:{slack_port}/_stats")
        env = service_env(
            fresh_database(args.db, tmp), f"http://127.0.0.1:{slack_port}/api/", args.topology == "one"
        )
        serve = spawn(
            ["-m", "service.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)], env, log
        )
        stack.callback(serve.wait, 30)
        stack.callback(serve.terminate)
        wait_http(f"http://127.0.0.1:{port}/healthz")
        print(f"serve pid {serve.pid}, Slack stand-in pid {slack.pid}", file=sys.stderr, flush=True)
        if args.topology == "split":
            worker_env = {
                **env,
                "SWITCHBOARD_ENGINE__WORKERS": str(args.worker_steps),
                "SWITCHBOARD_SLACK__DELIVER": "true",
            }
            # The worker lowers its own priority (SWITCHBOARD_QUEUE__WORKER_NICE, default 10).
            worker = spawn(["-m", "service.cli.main", "worker"], worker_env, log, nice=args.worker_nice)
            stack.callback(worker.wait, 30)
            stack.callback(worker.terminate)
            wait_for_log(log, "switchboard.worker")
        cpu_before = cpu_seconds(serve.pid)
        latencies, failures, elapsed = asyncio.run(load(port, args.rate, args.seconds))
        cpu_ms = (cpu_seconds(serve.pid) - cpu_before) * 1000 / max(1, len(latencies))
        if os.environ.get("SLACK_BENCH_LOG"):
            print(log.read_text()[-4000:], file=sys.stderr)
        with urllib.request.urlopen(f"http://127.0.0.1:{slack_port}/_stats", timeout=5) as response:
            calls = json.load(response)
    if not latencies:
        print("no responses")
        return 1
    p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
    met = p99 < 100 and not failures
    print(
        f"Slack ingress, {args.db}, topology {args.topology}: {len(latencies)} events in {elapsed:.1f} s "
        f"({len(latencies) / elapsed:.0f}/s), failures {len(failures)}"
    )
    print(
        f"  response time p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms"
    )
    print(
        f"  serve used {cpu_ms:.1f} ms of CPU per event (load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs)"
    )
    print(f"  Slack Web API calls meanwhile: {calls}")
    print(f"  target p99 < 100 ms: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
