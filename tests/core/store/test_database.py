"""The store's transactions: on SQLite a read waits for no writer; a request's transactions go
before background work's; the health probe has a connection and a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import Connection, text

from core.store.database import Database, _WriterLock
from core.urgency import Urgency, urgency


def _held_write(db: Database, started: threading.Event, release: threading.Event) -> None:
    def work(conn: Connection) -> None:
        conn.execute(text("INSERT INTO t VALUES (2)"))
        started.set()
        release.wait(30)

    db.run_sync(work)


async def test_a_read_on_sqlite_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/db.sqlite", pool_size=2)
    try:
        await db.run(lambda conn: conn.execute(text("CREATE TABLE t (x INTEGER)")))
        await db.run(lambda conn: conn.execute(text("INSERT INTO t VALUES (1)")))
        started, release = threading.Event(), threading.Event()
        writer = asyncio.create_task(asyncio.to_thread(_held_write, db, started, release))
        await asyncio.to_thread(started.wait, 30)

        seen = await db.read(lambda conn: conn.execute(text("SELECT x FROM t")).scalars().all())

        assert not release.is_set() and seen == [1]  # the writer still holds; its row is not seen
        release.set()
        await writer
        assert await db.read(lambda conn: conn.execute(text("SELECT count(*) FROM t")).scalar()) == 2
    finally:
        release.set()
        await db.close()


async def test_the_health_probe_does_not_queue_behind_the_store(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/db.sqlite", pool_size=1)
    release = threading.Event()
    try:
        started = threading.Event()

        def busy(conn: Connection) -> None:
            started.set()
            release.wait(30)

        holder = asyncio.create_task(db.read(busy))  # the store's only thread and connection
        await asyncio.to_thread(started.wait, 30)

        await db.ping(timeout_s=30)

        assert not holder.done()
        release.set()
        await holder
    finally:
        release.set()
        await db.close()


async def test_a_waiting_request_gets_a_thread_before_waiting_background_work(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/db.sqlite", pool_size=1)
    release, started = threading.Event(), threading.Event()
    order: list[str] = []
    try:

        def busy(conn: Connection) -> None:
            started.set()
            release.wait(30)

        holder = asyncio.create_task(db.read(busy))  # the store's only thread
        await asyncio.to_thread(started.wait, 30)

        async def note(name: str, level: Urgency) -> None:
            with urgency(level):
                await db.read(lambda conn: order.append(name))

        waiting = [
            asyncio.create_task(note("step", Urgency.BACKGROUND)),
            asyncio.create_task(note("poll", Urgency.READ)),
            asyncio.create_task(note("submit", Urgency.INGRESS)),
        ]
        await asyncio.sleep(0.05)  # all three wait for the thread
        release.set()
        await asyncio.gather(holder, *waiting)

        assert order == ["submit", "poll", "step"]
    finally:
        release.set()
        await db.close()


def test_a_waiting_ingress_writer_takes_the_writer_lock_before_a_background_one() -> None:
    lock, order = _WriterLock(), []
    held, release = threading.Event(), threading.Event()

    def writer(name: str, level: Urgency, then: threading.Event | None = None) -> None:
        with lock.hold(level):
            order.append(name)
            if then is not None:
                held.set()
                then.wait(30)

    first = threading.Thread(target=writer, args=("first", Urgency.BACKGROUND, release))
    first.start()
    assert held.wait(30)
    step = threading.Thread(target=writer, args=("step", Urgency.BACKGROUND))
    step.start()
    submit = threading.Thread(target=writer, args=("submit", Urgency.INGRESS))
    submit.start()
    for _ in range(300):  # both wait on the lock
        if sum(lock._waiting) == 2:
            break
        threading.Event().wait(0.01)
    release.set()
    for thread in (first, step, submit):
        thread.join(30)

    assert order == ["first", "submit", "step"]
