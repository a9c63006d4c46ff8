"""`switchboard worker [-- CELERY OPTIONS]`: step workers without HTTP.

Without a broker this is the in-process queue and sweeper. With `SWITCHBOARD_BROKER_URL` it is a
Celery worker: by default a thread pool of `queue.concurrency` threads, each handing its task to
the process's one event loop (`LoopThread`), so one process drives that many steps at once while
they wait on models and tools. Celery's own options pass through after `--` (`-P prefork -c 4`
runs four processes, each with its own loop).

Every process that runs steps also runs the service's sweeper: it re-nudges runs whose worker
died once their lease expires, so recovery takes a lease, not Redis's visibility timeout.
Several sweepers are harmless: a nudge is only a nudge.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
from typing import Any

from celery import signals
from prometheus_client import start_http_server

from core.errors import StoreUnavailable
from core.queue.bridge import LoopThread
from core.queue.celery_app import CeleryOptions, celery_app, register_advance
from core.queue.celery_queue import CeleryQueue
from core.settings import Settings
from service.cli import local
from service.cli.logs import configure_logging
from service.composition import Service, build_service

log = logging.getLogger("switchboard.worker")


class ProcessHost:
    """The service inside one worker process, built on first need, on the process's own loop.

    Keyed by pid: a prefork child builds its own, never using what it inherited from its parent."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: LoopThread | None = None
        self._service: Service | None = None

    def advance(self, run_id: str) -> None:
        loop, queue = self.ensure_started()
        loop.run(queue.deliver(run_id))

    def ensure_started(self) -> tuple[LoopThread, CeleryQueue]:
        with self._lock:
            if self._pid != os.getpid() or self._loop is None or self._service is None:
                self._pid = os.getpid()
                self._loop = LoopThread()
                self._service = self._loop.run(_started_service(self._settings))
                self._serve_metrics()
                log.info("worker %s ready", self._service.worker.name)
            queue = self._service.queue
            assert isinstance(queue, CeleryQueue), "a Celery worker needs SWITCHBOARD_BROKER_URL"
            return self._loop, queue

    def interrupt(self) -> None:
        """On the first shutdown signal (in Celery's signal handler, so no lock and no waiting):
        the steps in hand give their leases back now rather than running on through a warm
        shutdown. The pool's threads then finish their tasks at once."""
        loop, service = self._loop, self._service
        if self._pid != os.getpid() or loop is None or service is None:
            return
        if isinstance(service.queue, CeleryQueue):
            asyncio.run_coroutine_threadsafe(service.queue.interrupt(), loop.loop)

    def stop(self) -> None:
        with self._lock:
            if self._pid != os.getpid() or self._loop is None or self._service is None:
                return
            try:
                self._loop.run(self._service.stop(), timeout=30)
            finally:
                self._loop.stop()
                self._service = self._loop = None

    def _serve_metrics(self) -> None:
        port = self._settings.queue.metrics_port
        if port is None:
            return
        try:
            start_http_server(port, addr=self._settings.api.host)
        except OSError as exc:  # another process of this worker already serves it
            log.warning("metrics port %d not available: %s", port, exc)


async def _started_service(settings: Settings) -> Service:
    svc = await build_service(settings)
    await svc.start()
    return svc


def worker(argv: list[str]) -> int:
    celery_argv = argv[1:] if argv[:1] == ["--"] else argv
    configure_logging()
    settings = Settings()
    _yield_cpu(settings.queue.worker_nice)
    if not settings.broker_url:
        if celery_argv:
            print("error: Celery options need SWITCHBOARD_BROKER_URL", file=sys.stderr)
            return 2
        try:
            return asyncio.run(local.worker(argparse.Namespace()))
        except StoreUnavailable as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 5
    return run_celery_worker(settings, celery_argv)


def run_celery_worker(settings: Settings, celery_argv: list[str]) -> int:
    assert settings.broker_url is not None
    q = settings.queue
    app = celery_app(settings.broker_url, CeleryOptions(q.name, q.visibility_timeout_s))
    host = ProcessHost(settings)
    register_advance(app, host.advance)

    def on_ready(sender: Any, **_: Any) -> None:
        if not _is_prefork(sender):  # prefork children start their own, after the fork
            host.ensure_started()

    def on_child_start(**_: Any) -> None:
        host.ensure_started()

    def on_shutdown(**_: Any) -> None:
        host.stop()

    def on_shutting_down(**_: Any) -> None:
        host.interrupt()

    signals.worker_ready.connect(on_ready, weak=False)
    signals.worker_process_init.connect(on_child_start, weak=False)
    signals.worker_process_shutdown.connect(on_shutdown, weak=False)
    signals.worker_shutdown.connect(on_shutdown, weak=False)
    signals.worker_shutting_down.connect(on_shutting_down, weak=False)
    logging.getLogger("celery").setLevel(logging.WARNING)  # not two lines per task
    defaults = ["worker", "--pool=threads", f"--concurrency={q.concurrency}", "--loglevel=INFO"]
    app.worker_main([*defaults, "--without-mingle", "--without-gossip", *celery_argv])
    return 0


def _yield_cpu(nice: int) -> None:
    """Steps are throughput work; the API's answers are latency work: let them go first."""
    if nice > 0:
        try:
            os.nice(nice)
        except OSError as exc:  # not permitted here: run at the usual priority
            log.warning("could not lower the worker's priority: %s", exc)


def _is_prefork(consumer: Any) -> bool:
    pool_cls = getattr(getattr(consumer, "controller", None), "pool_cls", None)
    return "prefork" in getattr(pool_cls, "__module__", "")
