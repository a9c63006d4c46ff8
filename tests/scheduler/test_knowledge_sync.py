"""A nightly knowledge re-sync through the real firing loop, on a hand-driven clock (SQLite and
PostgreSQL): only an admin creates one, only for a folder under the sync roots (no `..`, no
symlink out); each fire syncs once, incrementally, and its outcome is audited."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from core.bots import BotRegistry
from core.errors import Forbidden, InvalidInput
from core.schedule_records import Draft
from core.schedules import ScheduleBook
from core.store.context import ContextStore
from core.store.knowledge import KnowledgeStore
from knowledge.ingest import Ingestor
from knowledge.roots import allowed_folder
from scheduler.knowledge_sync import ADMIN_KINDS, KIND, KnowledgeSyncHandler
from scheduler.runner import Scheduler, SchedulerOptions
from scheduler.triggers import ApsTiming
from service.scheduling import kind_rules, schedule_book
from tests.conftest import TenantFixture
from tests.scheduler.conftest import T0, ManualClock

OPTIONS = SchedulerOptions(tick_s=1.0, lease_s=60.0, jitter_s=0.0, on_time_s=120.0)
DAY = 86_400
TO_2AM = 18 * 3600  # from the clock's start (08:00) to the first 02:00


def _draft(folder: str, **params: str) -> Draft:
    return Draft(
        bot="ops",
        target={"surface": "slack", "channel": "C0OPS"},
        prompt="Re-sync the runbooks",
        cron="0 2 * * *",
        kind=KIND,
        params={"namespace": "runbooks", "folder": folder, **params},
    )


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """/srv (the allowed root) with runbooks/ in it, and a secret outside it."""
    srv, outside = tmp_path / "srv", tmp_path / "outside"
    (srv / "runbooks").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nThe vault code is 1234.\n")
    (srv / "runbooks" / "pager.md").write_text("# Pager\n\nRotate the pager every Monday.\n")
    (srv / "runbooks" / "deploy.md").write_text("# Deploy\n\nDeploy with the green button.\n")
    os.symlink(outside / "secret.md", srv / "runbooks" / "leak.md")  # a file symlinked out
    os.symlink(outside, srv / "escape")  # a folder symlinked out
    return srv, outside


def test_only_folders_under_a_root_are_allowed(roots: tuple[Path, Path]) -> None:
    srv, outside = roots
    allowed = [str(srv)]
    assert allowed_folder(allowed, str(srv / "runbooks")) == (srv / "runbooks").resolve()
    for bad in (str(outside), f"{srv}/runbooks/../../outside", str(srv / "escape"), "runbooks", ""):
        with pytest.raises(InvalidInput):
            allowed_folder(allowed, bad)
    with pytest.raises(InvalidInput, match="no knowledge sync roots"):
        allowed_folder([], str(srv / "runbooks"))


async def test_a_nightly_sync_fires_once_syncs_incrementally_and_audits_its_outcome(
    timed_store: ContextStore,
    database_url: str,
    clock: ManualClock,
    tenant: TenantFixture,
    roots: tuple[Path, Path],
) -> None:
    srv, _ = roots
    folder = str(srv / "runbooks")
    book = ScheduleBook(timed_store, ApsTiming(), kinds=kind_rules([str(srv)]), admin_kinds=ADMIN_KINDS)
    with pytest.raises(Forbidden, match="only an admin"):
        await book.create(tenant.member, _draft(folder))
    for bad in (f"{srv}/runbooks/../../outside", str(srv / "escape")):
        with pytest.raises(InvalidInput, match="not under a configured sync root"):
            await book.create(tenant.admin, _draft(bad))
    schedule = await book.create(tenant.admin, _draft(folder))

    knowledge = KnowledgeStore(timed_store.db, timed_store.clock)
    ns = await knowledge.create_namespace(tenant.id, "runbooks", "tenant", tenant.admin.user_id)
    other = ContextStore.open(database_url, clock)  # a second scheduler process
    handler = KnowledgeSyncHandler(knowledge, Ingestor(knowledge, None), timed_store.audit, [str(srv)])
    a = Scheduler(timed_store, {KIND: handler}, OPTIONS, name="a")
    other_handler = KnowledgeSyncHandler(
        KnowledgeStore(other.db, clock),
        Ingestor(KnowledgeStore(other.db, clock), None),
        other.audit,
        [str(srv)],
    )
    b = Scheduler(other, {KIND: other_handler}, OPTIONS, name="b")

    async def night(n: int) -> None:
        """Just past the n-th 02:00, a few ticks of both schedulers."""
        clock.t = T0 + TO_2AM + n * DAY
        for _ in range(3):
            clock.advance(1)
            await asyncio.gather(a.tick(), b.tick())

    async def synced() -> list[dict[str, object]]:
        return [e.detail for e in await timed_store.audit.query(tenant.id) if e.action == "knowledge.synced"]

    try:
        await night(0)
        docs = {d.source: d.status for d in await knowledge.documents(tenant.id, ns.id)}
        assert docs == {"runbooks/deploy.md": "ready", "runbooks/pager.md": "ready"}  # no leak.md
        [first] = await synced()
        assert (first["added"], first["updated"], first["removed"], first["failed"]) == (2, 0, 0, 0)
        assert first["schedule_id"] == schedule.id and first["namespace"] == "runbooks"

        (srv / "runbooks" / "pager.md").write_text("# Pager\n\nRotate the pager every Tuesday.\n")
        (srv / "runbooks" / "deploy.md").unlink()
        (srv / "runbooks" / "empty.md").write_text("")
        await night(1)
        second = (await synced())[1]
        assert (second["added"], second["updated"], second["removed"], second["failed"]) == (0, 1, 1, 1)
        assert "runbooks/empty.md" in second["failures"]  # type: ignore[operator]
        docs = {d.source: d.status for d in await knowledge.documents(tenant.id, ns.id)}
        assert docs == {"runbooks/pager.md": "ready", "runbooks/empty.md": "failed"}

        fires = await timed_store.schedules.fires(tenant.id, schedule.id)
        assert [f.status for f in fires] == ["done", "done"]  # one per night, across two schedulers
        assert len(await synced()) == 2
    finally:
        await other.close()


async def test_a_fire_whose_folder_is_no_longer_allowed_fails_with_the_reason(
    timed_store: ContextStore, clock: ManualClock, tenant: TenantFixture, roots: tuple[Path, Path]
) -> None:
    srv, _ = roots
    book = ScheduleBook(timed_store, ApsTiming(), kinds=kind_rules([str(srv)]), admin_kinds=ADMIN_KINDS)
    schedule = await book.create(tenant.admin, _draft(str(srv / "runbooks")))
    knowledge = KnowledgeStore(timed_store.db, timed_store.clock)
    await knowledge.create_namespace(tenant.id, "runbooks", "tenant", tenant.admin.user_id)
    narrowed = KnowledgeSyncHandler(knowledge, Ingestor(knowledge, None), timed_store.audit, [str(srv / "x")])
    clock.advance(TO_2AM)
    await Scheduler(timed_store, {KIND: narrowed}, OPTIONS, name="a").tick()
    [fire] = await timed_store.schedules.fires(tenant.id, schedule.id)
    assert fire.status == "failed" and "not under a configured sync root" in (fire.error or "")
    ns = await knowledge.namespace(tenant.id, "runbooks")
    assert await knowledge.documents(tenant.id, ns.id) == []


async def test_the_services_schedule_book_refuses_members_and_folders_outside_the_roots(
    store: ContextStore, tenant: TenantFixture, roots: tuple[Path, Path]
) -> None:
    """The book the API and CLI use (service/scheduling.py), wired as `serve` wires it."""
    srv, outside = roots
    book = schedule_book(store, BotRegistry.load(["bots.ops:bot"]), sync_roots=[str(srv)])
    with pytest.raises(Forbidden):
        await book.create(tenant.member, _draft(str(srv / "runbooks")))
    with pytest.raises(InvalidInput, match="not under a configured sync root"):
        await book.create(tenant.admin, _draft(str(outside)))
    made = await book.create(tenant.admin, _draft(str(srv / "runbooks"), prefix="ops"))
    assert made.kind == KIND and made.params["prefix"] == "ops"
    unconfigured = schedule_book(store, BotRegistry.load(["bots.ops:bot"]))
    with pytest.raises(InvalidInput, match="no knowledge sync roots"):
        await unconfigured.create(tenant.admin, _draft(str(srv / "runbooks")))
