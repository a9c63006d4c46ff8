"""How fast the `switchboard` CLI starts: wall time (median and p90 over N runs) of `--help`,
`run --help`, and simple client commands against a running service, then the top offenders of
`python -X importtime` for `--help` and a client command. Target: well under a second.

    python -m benchmarks.cli_startup [--runs 20] [--url http://127.0.0.1:8000 --key KEY] [--top 12]

Without --url it starts `switchboard serve` itself (offline demo model, a temporary SQLite
database, a free loopback port) and stops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def switchboard() -> list[str]:
    """The console script next to this interpreter, as a user runs it (else `-m`)."""
    script = Path(sys.executable).parent / "switchboard"
    return [str(script)] if script.exists() else [sys.executable, "-m", "service.cli.main"]


def timed(command: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, timeout=120)
        times.append(time.perf_counter() - began)
        if done.returncode not in (0, 3):
            raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return times


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def import_offenders(command: list[str], env: dict[str, str], top: int) -> tuple[list[str], list[str]]:
    """(top modules by their own import time, top-level packages by cumulative time), in ms."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "service.cli.main", *command],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = [
        (int(m.group(1)), int(m.group(2)), len(m.group(3)), m.group(4))
        for m in map(_IMPORT_LINE.match, done.stderr.splitlines())
        if m
    ]
    own = sorted(rows, key=lambda r: -r[0])[:top]
    roots = sorted((r for r in rows if r[2] == 1), key=lambda r: -r[1])[:top]
    return (
        [f"{r[3]:<40} {r[0] / 1000:7.1f} ms self" for r in own],
        [f"{r[3]:<40} {r[1] / 1000:7.1f} ms cumulative" for r in roots],
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def service(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        served = env | {"SWITCHBOARD_DATABASE_URL": f"sqlite:///{tmp}/bench.db"}
        served.pop("OPENAI_BASE_URL", None)
        proc = subprocess.Popen(
            [*switchboard(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=served,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                        break
                except OSError:
                    time.sleep(0.2)
            else:
                raise SystemExit("switchboard serve did not start within 60 s")
            yield url
        finally:
            proc.terminate()
            proc.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--url", help="a running service (default: start one)")
    parser.add_argument("--key", help="its API key (default: the offline demo's)")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    runs = max(1, min(args.runs, 500))

    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["XDG_CONFIG_HOME"] = tempfile.mkdtemp()  # not the user's saved login
    if args.key:
        env["SWITCHBOARD_API_KEY"] = args.key
    cli = switchboard()
    print(f"{' '.join(cli)} ({runs} runs each; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f})")
    with service(env) if args.url is None else _given(args.url) as url:
        env["SWITCHBOARD_URL"] = url
        made = subprocess.run(
            [*cli, "run", "support", "where is order 42?", "--json"], env=env, capture_output=True
        )
        run_id = json.loads(made.stdout)["id"]
        cases = [
            ("switchboard --help", ["--help"]),
            ("switchboard run --help", ["run", "--help"]),
            ("switchboard status RUN_ID", ["status", run_id]),
            ("switchboard runs --limit 5", ["runs", "--limit", "5"]),
            ('switchboard run support "…" (a whole run)', ["run", "support", "where is order 42?"]),
        ]
        print(f"{'command':<44} {'median':>9} {'p90':>9}")
        for name, argv in cases:
            times = timed([*cli, *argv], env, runs)
            print(f"{name:<44} {statistics.median(times) * 1000:7.0f} ms {p90(times) * 1000:7.0f} ms")
        for name, argv in (("--help", ["--help"]), ("status RUN_ID", ["status", run_id])):
            own, roots = import_offenders(argv, env, args.top)
            print(f"\npython -X importtime: switchboard {name}, top modules by own time")
            print("\n".join(own))
            print("top-level packages by cumulative time")
            print("\n".join(roots))


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url.rstrip("/")


if __name__ == "__main__":
    main()
