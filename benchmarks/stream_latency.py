"""Token streaming: the time Switchboard adds between the model's first byte of text and the first
`delta` at an SSE client, at 1 and at 200 concurrent streams, and the CPU a streamed run costs
against a non-streamed one. Target (issue 21): ≤ 50 ms p99 added at 200, CPU within 1.3×.

    python -m benchmarks.stream_latency [--streams 1,200] [--token-ms 20] [--cpu-runs 200]

The scripted model runs in its own process, wrapped so it logs (CLOCK_MONOTONIC, shared by every
process of the machine) when it has written each request's first text chunk to the socket. The
API and its in-process worker run under uvicorn in this process, as `switchboard serve` runs
them; the SSE clients run here too (their parsing is on the same event loop, so the figures are
an upper bound). Each client connects before the model's first text (the model waits 300 ms plus
25 ms per concurrent stream before answering); a client that connected later is not counted.
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from benchmarks.common import describe
from bots.support import bot as support_bot
from channels.api import StreamOptions, build_api
from core.alerts.desk import AlertDesk
from core.bots import BotRegistry
from core.engine.notifier import RunNotifier
from core.engine.worker import StepWorker, WorkerOptions
from core.model.gateway import OpenAIGateway
from core.queue.inprocess import InProcessQueue
from core.records import Role
from core.runtime import Runtime
from core.schedules import ScheduleBook
from core.settings import ModelSettings
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from core.store.migrate import migrate
from core.store.sessions import SessionHistoryStore

ANSWER = " ".join(f"word{i}" for i in range(30)) + "."
ASGI = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[..., Awaitable[None]]], Awaitable[None]
]


# --- the model process -------------------------------------------------------------------------


def serve_model(port: int, log_path: str, first_ms: float, token_ms: float) -> None:
    """The scripted model, logging "<last user message>\t<monotonic ns>" per first text chunk."""
    from core.scripted_model import Script, build_app
    from core.scripted_model.faults import FaultQueue

    app = build_app(Script(default=ANSWER), faults=FaultQueue(first_ms, token_ms))
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - for the process's life

    async def logged(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/chat/completions":
            return await app(scope, receive, send)
        received, body, more = [], b"", True
        while more:
            message = await receive()
            received.append(message)
            body += message.get("body", b"")
            more = message.get("more_body", False)
        marker = str(json.loads(body)["messages"][-1].get("content"))
        replay = iter(received)
        pending = True

        async def again() -> Any:
            return next(replay, None) or await receive()

        async def sent(message: dict[str, Any]) -> None:
            nonlocal pending
            await send(message)
            chunk = message.get("body", b"")
            text = b'"content": "' in chunk and b'"content": ""' not in chunk
            if pending and message["type"] == "http.response.body" and text:
                pending = False
                log.write(f"{marker}\t{time.monotonic_ns()}\n")

        return await app(scope, again, sent)

    uvicorn.run(logged, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- the service ---------------------------------------------------------------------------------


class Service:
    def __init__(self, store: ContextStore, base_url: str, *, stream: bool) -> None:
        settings = ModelSettings(
            base_url=base_url, api_key=SecretStr("sk-bench"), max_retries=0, stream=stream
        )
        self.gateway = OpenAIGateway(settings)
        bots = BotRegistry([support_bot])
        notifier = RunNotifier()
        worker = StepWorker(store, bots, self.gateway, WorkerOptions(), notifier=notifier)
        self.queue = InProcessQueue(worker.advance, 256)
        self.runtime = Runtime(store, bots, self.queue, notifier)
        alerts = AlertDesk(self.runtime, AlertStore(store.db, store.clock, {}), store.audit)
        self.app = build_api(
            self.runtime,
            alerts=alerts,
            schedules=ScheduleBook(store),
            sessions=SessionHistoryStore(store.db),
            max_body_bytes=65536,
            stream=StreamOptions(poll_s=1.0, keepalive_s=15.0),
        )

    async def settle(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.queue.idle() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)


async def serving(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", ws="none", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


async def follow(client: httpx.AsyncClient, key: str, marker: str) -> tuple[int, int | None]:
    """Submit a run and follow it: (ns when the stream opened, ns of the first delta)."""
    headers = {"Authorization": f"Bearer {key}"}
    submitted = await client.post("/v1/runs", json={"bot": "support", "message": marker}, headers=headers)
    submitted.raise_for_status()
    run_id = submitted.json()["id"]
    first: int | None = None
    async with client.stream("GET", f"/v1/runs/{run_id}/events", headers=headers) as response:
        opened = time.monotonic_ns()
        async for line in response.aiter_lines():
            if first is None and line == "event: delta":
                first = time.monotonic_ns()
            if line == "event: RunCompleted" or line == "event: RunFailed":
                break
    return opened, first


async def latency(
    streams: int, rounds: int, url: str, model_url: str, key: str, model_log: Path
) -> tuple[list[float], int]:
    """`rounds` rounds of `streams` runs at once. The model waits long enough before its first
    text for every client of a round to have connected (submitting 200 runs takes a while here)."""
    limits = httpx.Limits(max_connections=streams * 2 + 10)
    first_ms = 300.0 + 25.0 * streams
    httpx.post(f"{model_url}/_control/faults", json={"latency_ms": first_ms}, timeout=5, trust_env=False)
    added, late = [], 0
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits, trust_env=False) as client:
        for round_no in range(rounds):
            markers = [f"bench {streams}-{round_no}-{i}" for i in range(streams)]
            seen = await asyncio.gather(*(follow(client, key, m) for m in markers))
            first_bytes = dict(line.split("\t") for line in model_log.read_text().splitlines())
            for marker, (opened, first) in zip(markers, seen, strict=True):
                sent = int(first_bytes[marker])
                if first is None or opened > sent:
                    late += 1
                    continue
                added.append((first - sent) / 1e6)
    return added, late


async def cpu_per_run(service: Service, store: ContextStore, tenant: str, user: str, runs: int) -> float:
    """This process's CPU per run, nobody watching: the gateway's parsing and the deltas published."""
    from core.records import Principal
    from core.runtime import Submission

    who = Principal(tenant, user, Role.MEMBER)
    start = time.process_time()
    for batch in range(0, runs, 50):
        for i in range(batch, min(runs, batch + 50)):
            await service.runtime.submit(who, Submission(bot="support", text=f"cpu {i}"))
        await service.settle()
    return (time.process_time() - start) / runs * 1000


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="stream-bench-"))
    model_log = tmp / "first_bytes.tsv"
    port = free_port()
    model = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.stream_latency", "--model", str(port), str(model_log)]
        + ["--first-ms", str(args.first_ms), "--token-ms", str(args.token_ms)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1, trust_env=False)
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        model_root = f"http://127.0.0.1:{port}"
        base_url = f"{model_root}/v1"
        for stream in (True, False):
            store = ContextStore.open(f"sqlite:///{tmp}/bench-{stream}.db")
            await migrate(store.db)
            tenant = await store.directory.create_tenant("bench")
            user = await store.directory.create_user(tenant, "bench", Role.MEMBER)
            key = await store.directory.create_api_key(tenant, user.id)
            service = Service(store, base_url, stream=stream)
            await service.queue.start()
            server, task, url = await serving(service.app)
            try:
                if stream:
                    for streams in args.streams:
                        rounds = max(1, args.samples // streams)
                        added, late = await latency(streams, rounds, url, model_root, key, model_log)
                        print(
                            f"{streams:>4} concurrent streams, first byte → first delta at the client: "
                            + (describe(added) if added else "no samples")
                            + (f"; {late} connected after the first byte, not counted" if late else "")
                        )
                    httpx.post(f"{model_root}/_control/reset", timeout=5, trust_env=False)
                cpu = await cpu_per_run(service, store, tenant, user.id, args.cpu_runs)
                print(
                    f"CPU per run, {'streamed' if stream else 'not streamed'}: {cpu:.2f} ms ({args.cpu_runs} runs)"
                )
            finally:
                server.should_exit = True
                await task
                await service.queue.stop()
                await service.gateway.aclose()
                await store.close()
    finally:
        model.terminate()
        model.wait(10)


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stream_latency", description=__doc__)
    parser.add_argument("--streams", default="1,200", type=lambda s: [int(n) for n in s.split(",")])
    parser.add_argument("--token-ms", type=float, default=20.0, help="the model's pause between chunks")
    parser.add_argument(
        "--first-ms", type=float, default=0.0, help="the model's wait before answering (CPU runs)"
    )
    parser.add_argument(
        "--samples", type=int, default=30, help="runs measured per concurrency, at least one round"
    )
    parser.add_argument("--cpu-runs", type=int, default=200)
    parser.add_argument("--model", nargs=2, metavar=("PORT", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.model:
        serve_model(int(args.model[0]), args.model[1], args.first_ms, args.token_ms)
        return
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
