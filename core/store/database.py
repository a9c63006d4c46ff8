"""Opening the database, and the one way the store talks to it: a transaction is a plain sync
function run on a small thread pool.

Why not SQLAlchemy's asyncio layer: measured here, it costs about 0.7 ms of CPU per statement
(greenlet switches, and for SQLite a thread hop per call), seven times raw psycopg and far more
than sync SQLite. A step issues a dozen statements, so that layer alone would exceed the
per-step budget. One executor hop per transaction keeps the event loop free and the cost low.

SQLite runs in WAL mode. A transaction that may write starts with BEGIN IMMEDIATE, so two
writers queue (in a pool thread, never on the event loop) instead of failing with "database is
locked" when a read upgrades to a write; the writers of one process also queue on a lock of
their own first, so they take turns at once instead of in SQLite's busy-handler sleeps (which
grow to 100 ms: under load most of a transaction's time was spent sleeping in BEGIN). A
transaction that only reads (`read`) starts with a plain BEGIN: in WAL mode it reads a snapshot
and waits for no writer. The lock is the process's own: another process (a CLI command, a second
`serve` on the same file) still queues on BEGIN IMMEDIATE and the busy timeout, as before.

Transactions wait for a thread (and a writer for the lock) in order of urgency, then of arrival:
a request's (`Urgency.INGRESS` for a write such as a submission, `Urgency.READ` for a poll, set by
the API around each request with `urgency`) before the steps' and the scheduler's
(`Urgency.BACKGROUND`, the default). In `serve` the step work shares this pool with the API, and in
arrival order a submission queued behind every step transaction already waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError

from core.errors import StoreUnavailable
from core.store.urls import normalise_url
from core.urgency import Urgency, current_urgency

T = TypeVar("T")
Work = Callable[[Connection], T]

_READ_ONLY = "switchboard_read_only"  # an execution option: this transaction only reads


class _Lanes:
    """A pool of at most `threads` threads (started as needed) that runs the most urgent waiting
    call first, in arrival order within one urgency. (ThreadPoolExecutor's queue is FIFO only.)"""

    def __init__(self, threads: int, name: str) -> None:
        self._ready = threading.Condition()
        self._waiting: list[tuple[int, int, Future[Any], Callable[[], Any]]] = []
        self._order = itertools.count()
        self._closed = False
        self._name, self._most = name, threads
        self._idle = 0
        self._threads: list[threading.Thread] = []  # started as needed, up to `threads`

    def submit(self, level: Urgency, call: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the store is closed")
            heapq.heappush(self._waiting, (level, next(self._order), future, call))
            if self._idle:  # a thread that waits: wake it, and count it busy from now
                self._idle -= 1
                self._ready.notify()
            elif len(self._threads) < self._most:
                thread = threading.Thread(
                    target=self._serve, name=f"{self._name}_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    def shutdown(self) -> None:
        """Run what is waiting, then stop the threads."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        for thread in list(self._threads):
            thread.join()

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._waiting and not self._closed:
                    self._idle += 1  # `submit` takes it off when it wakes this thread
                    self._ready.wait()
                if not self._waiting:
                    return
                _, _, future, call = heapq.heappop(self._waiting)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = call()
            except BaseException as exc:  # handed to the awaiting coroutine
                future.set_exception(exc)
            else:
                future.set_result(result)


class _WriterLock:
    """One writer of this process at a time; a waiting writer of a more urgent kind goes first."""

    def __init__(self) -> None:
        self._free = threading.Condition()
        self._held = False
        self._waiting = [0] * len(Urgency)

    @contextlib.contextmanager
    def hold(self, level: Urgency) -> Iterator[None]:
        with self._free:
            self._waiting[level] += 1
            try:
                while self._held or any(self._waiting[:level]):
                    self._free.wait()
            finally:
                self._waiting[level] -= 1
            self._held = True
        try:
            yield
        finally:
            with self._free:
                self._held = False
                self._free.notify_all()


class Database:
    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        url = normalise_url(url)
        if url.startswith("sqlite"):
            self.engine: Engine = create_engine(
                url,
                pool_size=pool_size + 1,
                max_overflow=0,
                connect_args={"timeout": 30, "check_same_thread": False},
            )
            _configure_sqlite(self.engine)
            self._writer: _WriterLock | None = _WriterLock()
        else:
            self.engine = create_engine(
                url, pool_size=pool_size + 1, max_overflow=0, pool_timeout=10, pool_recycle=1800
            )
            self._writer = None  # PostgreSQL locks rows, not the database
        # One thread per pooled connection: a transaction never waits for a connection, only for
        # a thread (most urgent first) and a row.
        self._lanes = _Lanes(pool_size, "store")
        # And one of each for `ping`, so a health check never queues behind the store's work.
        self._probe = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-probe")

    async def run(self, work: Work[T]) -> T:
        """Run `work(conn)` in one transaction on a pool thread; commit if it returns."""
        level = current_urgency()
        return await asyncio.wrap_future(self._lanes.submit(level, lambda: self.run_sync(work, level)))

    async def read(self, work: Work[T]) -> T:
        """`run` for work that only reads (it must not write): on SQLite it waits for no writer."""
        return await asyncio.wrap_future(self._lanes.submit(current_urgency(), lambda: self.read_sync(work)))

    def run_sync(self, work: Work[T], level: Urgency = Urgency.BACKGROUND) -> T:
        if self._writer is None:
            return self._transaction(work, read_only=False)
        with self._writer.hold(level):
            return self._transaction(work, read_only=False)

    def read_sync(self, work: Work[T]) -> T:
        return self._transaction(work, read_only=True)

    def _transaction(self, work: Work[T], *, read_only: bool) -> T:
        try:
            with self.engine.connect() as conn:
                if read_only:
                    conn = conn.execution_options(**{_READ_ONLY: True})
                with conn.begin():
                    return work(conn)
        except OperationalError as exc:
            raise StoreUnavailable(f"the database is unavailable: {exc.orig}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable(f"the database connection was lost: {exc.orig}") from exc
            raise

    async def ping(self, timeout_s: float = 3.0) -> None:
        """A trivial query; raises StoreUnavailable when the database does not answer."""
        from sqlalchemy import text

        probe = asyncio.get_running_loop().run_in_executor(
            self._probe, self.read_sync, lambda conn: conn.execute(text("SELECT 1"))
        )
        await asyncio.wait_for(probe, timeout_s)

    async def close(self) -> None:
        await asyncio.to_thread(self._lanes.shutdown)
        self._probe.shutdown(wait=False)  # a probe stuck on a dead database must not hold up shutdown
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE")
