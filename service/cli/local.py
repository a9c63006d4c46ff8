"""The commands that work on a database directly, in this process: `migrate`, `keys`, the
in-process `worker` and `scheduler`, and the explicit local mode (`--local` / `--db URL`) of the
client commands, which starts the whole service in this process on a loopback port for the one
command, then talks to it over HTTP like any other client. These import the service's stack
(SQLAlchemy, Starlette, the model SDK): only when a command needs it, never for `--help`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

from core.errors import StoreUnavailable, SwitchboardError
from core.records import Role
from core.settings import Settings
from core.store.context import ContextStore
from core.store.migrate import migrate as run_migrations
from service.cli.client import ServiceError
from service.cli.logs import configure_logging
from service.cli.serve import bind
from service.composition import build_service
from service.demo import ensure_demo_tenant

_START_TIMEOUT_S = 60.0


def settings_for(database_url: str | None) -> Settings:
    return Settings() if database_url is None else Settings(database_url=database_url)


async def migrate(args: argparse.Namespace) -> int:
    store = ContextStore.open(settings_for(args.db).database_url)
    try:
        await run_migrations(store.db)
    finally:
        await store.close()
    print("database is at the newest schema")
    return 0


async def create_key(args: argparse.Namespace) -> int:
    store = ContextStore.open(settings_for(args.db).database_url)
    try:
        await run_migrations(store.db)
        if not await store.directory.tenant_exists(args.tenant):
            await store.directory.create_tenant(args.tenant, tenant_id=args.tenant)
        user = await store.directory.create_user(
            args.tenant, args.user, Role.ADMIN if args.admin else Role.MEMBER
        )
        key = await store.directory.create_api_key(args.tenant, user.id, f"cli: {args.user}")
    finally:
        with contextlib.suppress(Exception):
            await store.close()
    print(f"tenant {args.tenant}, user {user.id} ({'admin' if args.admin else 'member'})\nAPI key: {key}")
    print("the key is shown once; only its hash is stored")
    return 0


async def worker(_: argparse.Namespace) -> int:
    """Step workers and a sweeper in this process (no broker)."""
    configure_logging()
    stop = _stop_on_signals()
    svc = await build_service(Settings())
    if svc.offline:
        await ensure_demo_tenant(svc.store)
    try:
        await svc.start()
        logging.getLogger("switchboard.worker").info("worker %s started", svc.worker.name)
        await stop.wait()
    finally:
        await svc.stop()
    return 0


async def run_scheduler(_: argparse.Namespace) -> int:
    configure_logging()
    stop = _stop_on_signals()
    svc = await build_service(Settings())
    try:
        await svc.start(sweep=False, schedule=True)
        assert svc.scheduler is not None
        logging.getLogger("switchboard.scheduler").info("scheduler %s started", svc.scheduler.name)
        await stop.wait()
    finally:
        await svc.stop()
    return 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


@contextlib.contextmanager
def embedded(database_url: str | None) -> Iterator[str]:
    """The service on 127.0.0.1 in this process, for one command: its base URL."""
    import uvicorn

    from service.server import create_app

    guard = _StartupGuard(create_app(settings_for(database_url)))
    listener = bind("127.0.0.1", 0)
    port = listener.getsockname()[1]
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)  # the reasons are reported below
    logging.getLogger().setLevel(logging.ERROR)  # one command's output, not the service's log
    config = uvicorn.Config(guard, log_config=None, log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise _start_failure(guard.error)
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


class _StartupGuard:
    """Keeps what made the app's start-up fail, so the CLI can say it plainly (no traceback)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.error: BaseException | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            self.error = exc


def _start_failure(error: BaseException | None) -> ServiceError:
    if isinstance(error, StoreUnavailable):
        return ServiceError(error.message, 5)
    if isinstance(error, SwitchboardError):
        return ServiceError(f"{error.code}: {error.message}", 1)
    why = f": {type(error).__name__}: {error}" if error else ""
    return ServiceError(f"the local service did not start{why}", 1)
