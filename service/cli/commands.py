"""The CLI's commands: each one builds the service, does one thing, and returns an exit code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from core.errors import NotFound, Unauthorized
from core.ids import new_id
from core.lifecycle import PARKED, RunStatus
from core.records import Approval, Principal, Question, Role, Run
from core.runtime import Submission
from core.settings import Settings
from core.store.context import ContextStore
from core.store.migrate import migrate as run_migrations
from service.cli.logs import configure_logging
from service.cli.render import (
    dumps,
    event_json,
    pending_json,
    run_json,
    run_text,
    timeline_text,
    waiting_text,
)
from service.composition import Service, build_service
from service.demo import CUSTOMER_KEY, ensure_demo_tenant


@asynccontextmanager
async def service(*, start: bool = False) -> AsyncIterator[Service]:
    svc = await build_service(Settings())
    if svc.offline:
        await ensure_demo_tenant(svc.store)
    if start:
        await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


async def principal(svc: Service) -> Principal:
    key = svc.settings.api_key
    if key is not None:
        return await svc.store.directory.authenticate(key.get_secret_value())
    try:
        return await svc.store.directory.authenticate(CUSTOMER_KEY)
    except Unauthorized:
        raise Unauthorized("set SWITCHBOARD_API_KEY to act as a user (see `switchboard keys`)") from None


async def waiting_for(store: ContextStore, run: Run) -> Approval | Question | None:
    """The approval or question a parked run waits for; no query for any other run."""
    if run.status is RunStatus.WAITING_APPROVAL:
        found = await store.decisions.approvals(run.tenant_id, status="pending", run_id=run.id, limit=1)
        return found[0] if found else None
    if run.status is RunStatus.WAITING_INPUT:
        asked = [
            q for q in await store.decisions.questions(run.tenant_id, run_id=run.id) if q.status == "pending"
        ]
        return asked[-1] if asked else None
    return None


def outcome_json(run: Run, waiting: Approval | Question | None) -> dict[str, Any]:
    return {**run_json(run), "pending": pending_json(waiting)}


def outcome_text(run: Run, waiting: Approval | Question | None) -> str:
    """Where a run is now: its answer, or what it waits for and how to decide it."""
    if run.status is RunStatus.COMPLETED:
        return f"run {run.id} completed:\n{run.answer}"
    return run_text(run) + (f"\n{waiting_text(waiting)}" if waiting else "")


async def migrate(_: argparse.Namespace) -> int:
    store = ContextStore.open(Settings().database_url)
    try:
        await run_migrations(store.db)
    finally:
        await store.close()
    print("database is at the newest schema")
    return 0


async def worker(_: argparse.Namespace) -> int:
    configure_logging()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with service(start=True) as svc:
        logging.getLogger("switchboard.worker").info("worker %s started", svc.worker.name)
        await stop.wait()
    return 0


async def run(args: argparse.Namespace) -> int:
    async with service(start=True) as svc:
        who = await principal(svc)
        session = args.session or new_id("cli")
        submitted = await svc.runtime.submit(
            who, Submission(bot=args.bot, text=args.message, surface="cli", thread_key=session)
        )
        assert submitted.run is not None
        run = await svc.runtime.wait(who, submitted.run.id, args.timeout)
        events = await svc.runtime.events(who, run.id)
        waiting = await waiting_for(svc.store, run)
    if args.json:
        print(
            dumps(
                {
                    **run_json(run),
                    "session": session,
                    "pending": pending_json(waiting),
                    "events": [event_json(e) for e in events],
                }
            )
        )
    elif run.status is RunStatus.COMPLETED:
        print(run.answer)
        print(
            f"\n(run {run.id}: `switchboard logs {run.id}` shows its timeline; "
            f"continue this conversation with --session {session})"
        )
    else:
        print(outcome_text(run, waiting))
    return exit_code(run.status)


def exit_code(status: RunStatus) -> int:
    if status is RunStatus.COMPLETED:
        return 0
    if status in PARKED:
        return 3
    if status in (RunStatus.QUEUED, RunStatus.RUNNING):
        return 4
    return 1


async def status(args: argparse.Namespace) -> int:
    async with service() as svc:
        run = await svc.runtime.run(await principal(svc), args.run_id)
        waiting = await waiting_for(svc.store, run)
    print(dumps(outcome_json(run, waiting)) if args.json else outcome_text(run, waiting))
    return 0


async def logs(args: argparse.Namespace) -> int:
    async with service() as svc:
        events = await svc.runtime.events(await principal(svc), args.run_id)
    if not events:
        raise NotFound(f"no run {args.run_id}")
    print(dumps([event_json(e) for e in events]) if args.json else timeline_text(events))
    return 0


async def cancel(args: argparse.Namespace) -> int:
    async with service() as svc:
        run = await svc.runtime.cancel(await principal(svc), args.run_id)
    print(dumps(run_json(run)) if args.json else run_text(run))
    return 0


async def resume(args: argparse.Namespace) -> int:
    async with service(start=True) as svc:
        who = await principal(svc)
        await svc.runtime.resume(who, args.run_id)
        run = await svc.runtime.wait(who, args.run_id, 120)
    print(dumps(run_json(run)) if args.json else run_text(run))
    return exit_code(run.status)


async def create_key(args: argparse.Namespace) -> int:
    store = ContextStore.open(Settings().database_url)
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
