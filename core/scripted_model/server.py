"""Runs the scripted model app with uvicorn on 127.0.0.1, in a thread with its own event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from core.scripted_model.api import build_app
from core.scripted_model.faults import FaultQueue, FaultSpec, TrafficLog
from core.scripted_model.script import Script

__all__ = ["ScriptedModelServer", "build_app"]

_STARTUP_TIMEOUT_S = 10.0


class ScriptedModelServer:
    """Runs `build_app(script)` with uvicorn on 127.0.0.1 in a thread with its own event loop.

    Use it as a context manager (sync or async); `base_url` is ready for `AsyncOpenAI`.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        latency_ms: float = 0.0,
        token_latency_ms: float = 0.0,
        port: int = 0,
    ) -> None:
        self.script = script if script is not None else Script()
        self.faults = FaultQueue(latency_ms, token_latency_ms)
        self.traffic = TrafficLog()
        self._requested_port = port
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the scripted model server is not running")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ScriptedModelServer:
        if self._thread is not None:
            raise RuntimeError("the scripted model server is already running")
        listener = _listen(self._requested_port)
        app = build_app(self.script, faults=self.faults, traffic=self.traffic)
        server = uvicorn.Server(_uvicorn_config(app))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="scripted-model-server", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join()
                listener.close()
                raise RuntimeError("the scripted model server did not start")
            time.sleep(0.005)
        self._port = listener.getsockname()[1]
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self.faults.release_hangs()
        self._server.should_exit = True
        self._thread.join()
        self._server, self._thread, self._port = None, None, None
        self.faults.reset()  # armed faults do not outlive a run; recorded traffic does

    def inject(self, **fault: Any) -> None:
        """Arm a fault in-process; the keywords are those of `POST /_control/faults`."""
        self.faults.apply(FaultSpec.model_validate(fault))

    def reset(self) -> None:
        self.faults.reset()
        self.traffic.clear()

    def requests(self) -> list[dict[str, Any]]:
        return self.traffic.bodies()

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> ScriptedModelServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


def _listen(port: int) -> socket.socket:
    # IPPROTO_TCP spelled out: asyncio only sets TCP_NODELAY on sockets that say so, and
    # without it every response after the first waits ~40 ms for a delayed ACK.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
    except OSError:
        listener.close()
        raise
    return listener


def _uvicorn_config(app: Starlette) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        # httptools and uvloop when installed (uvicorn[standard]): half the CPU per call of h11 on asyncio
        http="auto",
        ws="none",
        loop="auto",
        lifespan="off",
        log_config=None,  # leave the host process's logging alone
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
