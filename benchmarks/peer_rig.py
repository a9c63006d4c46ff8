"""The peer runtime's rig for benchmarks/peer_compare.py: Agno AgentOS in its own virtualenv.

The virtualenv lives outside the repository (~/.cache/switchboard-bench/agno-venv by default),
is created and filled from PyPI once, and reused. Nothing of the peer's code is in the repository:
benchmarks/peer_app.py is ours, on agno's public API, and runs with the virtualenv's python. The
scripted model runs as for Switchboard (`python -m core.scripted_model`). Only 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.scale_rig import REPO, SCRIPT, _spawn

PEER_PACKAGE = "agno"
PEER_VERSION = "3.1.10"
PEER_EXTRAS = "os,postgres,openai"
PEER_ALSO = ("psycopg[binary]",)  # agno's postgres extra leaves the driver to the user
DEFAULT_VENV = Path.home() / ".cache" / "switchboard-bench" / "agno-venv"


@dataclass(frozen=True)
class PeerOptions:
    workers: int  # uvicorn worker processes
    port: int  # the peer's; its scripted model listens on port + 1
    latency_ms: float
    storage: str = "sync"  # agno's PostgresDb ("sync") or AsyncPostgresDb ("async")
    venv: Path = DEFAULT_VENV


def ensure_peer_venv(venv: Path) -> str:
    """The peer's virtualenv, created and filled once; the agno version it holds."""
    python = venv / "bin" / "python"
    marker = venv / "peer-version"
    if marker.exists():
        return marker.read_text().strip()
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    exact = f"{PEER_PACKAGE}[{PEER_EXTRAS}]=={PEER_VERSION}"
    if subprocess.run([*pip, exact, *PEER_ALSO]).returncode != 0:
        nearest = f"{PEER_PACKAGE}[{PEER_EXTRAS}]~={PEER_VERSION.rsplit('.', 1)[0]}.0"
        print(f"  {exact} would not install; taking the nearest 3.1.x ({nearest})")
        subprocess.run([*pip, nearest, *PEER_ALSO], check=True)
    probe = [str(python), "-c", f"import importlib.metadata as m; print(m.version('{PEER_PACKAGE}'))"]
    version = subprocess.run(probe, check=True, capture_output=True, text=True).stdout.strip()
    marker.write_text(version + "\n")
    return version


@dataclass(frozen=True)
class Peer:
    url: str
    server: subprocess.Popen[bytes]
    model: subprocess.Popen[bytes]


async def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    """Until `port` on 127.0.0.1 accepts a connection; fails at once if `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before listening on {port}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def _stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@asynccontextmanager
async def peer_rig(options: PeerOptions, database_url: str, logs: Path) -> AsyncIterator[Peer]:
    """The scripted model and the peer under uvicorn, its tables created first (once); both
    stopped on the way out."""
    logs.mkdir(parents=True, exist_ok=True)
    port, venv = options.port, options.venv
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGNO_", "PEER_"))}
    env |= {
        "PYTHONPATH": str(REPO),  # for `-m core.scripted_model`; the peer imports nothing of ours
        "PEER_DATABASE_URL": database_url.replace("postgresql://", "postgresql+psycopg://", 1),
        "PEER_MODEL_URL": f"http://127.0.0.1:{port + 1}/v1",
        "AGNO_TELEMETRY": "false",
        "PEER_DB": options.storage,
    }
    model_args = ["--script", str(SCRIPT), "--port", str(port + 1), "--latency-ms", str(options.latency_ms)]
    model = _spawn(["-m", "core.scripted_model", *model_args], env, logs / "model.log")
    python, app_dir, log = str(venv / "bin" / "python"), REPO / "benchmarks", logs / "peer.log"
    procs = [model]
    try:
        with open(log, "ab") as out:
            provision = [python, str(app_dir / "peer_app.py")]
            await asyncio.to_thread(
                subprocess.run, provision, env=env, stdout=out, stderr=out, check=True, timeout=120
            )
            uvicorn = ["-m", "uvicorn", "peer_app:app", "--app-dir", str(app_dir), "--host", "127.0.0.1"]
            uvicorn += ["--port", str(port), "--workers", str(options.workers), "--no-access-log"]
            server = subprocess.Popen([python, *uvicorn], env=env, stdout=out, stderr=subprocess.STDOUT)
        procs.insert(0, server)
        await wait_listening(model, port + 1, 30)
        await wait_listening(server, port, 60)
        yield Peer(f"http://127.0.0.1:{port}", server, model)
    finally:
        await asyncio.to_thread(_stop, procs)
