"""An aiohttp stand-in served at 127.0.0.1 on a free port, on its own event loop in a daemon thread.

The code under test runs on the test's loop and reaches the stand-in over real HTTP (and
websockets); the stand-in keeps answering while the test's loop is busy or blocked. The fakes of
the Teams connector and of Discord are served this way.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
_START_S = 10.0


class ServedApp:
    def __init__(
        self, app: web.Application, name: str, before_stop: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._app = app
        self._name = name
        self._before_stop = before_stop  # e.g. close open websockets, which would hold the shutdown
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> None:
        started = threading.Event()
        errors: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                runner = loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to the starting thread
                errors.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            if self._before_stop is not None:
                loop.run_until_complete(self._before_stop())
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        if not started.wait(_START_S) or errors:
            raise RuntimeError(f"{self._name} did not start: {errors}")

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_START_S)
        self._loop = self._thread = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 5.0) -> T:
        """Run `coro` on the stand-in's loop (e.g. to push a websocket event) and wait for it."""
        assert self._loop is not None, f"{self._name} is not running"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _serve(self) -> web.AppRunner:
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        return runner
