"""Schedules end to end on the composed service: the offline demo model over HTTP, the Slack
stand-in, the real admission limits. Chat proposes (approval first), the scheduler fires, the
runtime delivers through the outbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from core.lifecycle import RunStatus
from core.records import AuditQuery, Principal, Role
from core.runtime import Submission
from core.schedule_records import Draft, Schedule
from core.settings import AdmissionSettings, SchedulerSettings, Settings, SlackSettings
from core.store.context import ContextStore
from core.store.schema import runs, schedule_fires, schedules
from scheduler.digest import DigestHandler
from service.composition import Service, build_service
from service.scheduling import THREAD_KEYS, schedule_book
from tests.conftest import TenantFixture
from tests.fakes.slack_api import FakeSlackApi

BOTS = ["bots.support:bot", "bots.ops:bot"]


def settings_for(database_url: str, api: FakeSlackApi | None = None, **extra: object) -> Settings:
    slack = (
        SlackSettings(bot_token="xoxb-test-token", signing_secret="s", api_base_url=api.base_url)
        if api
        else None
    )
    values: dict[str, object] = {
        "database_url": database_url,
        "bots": BOTS,
        "scheduler": SchedulerSettings(jitter_s=0.0, tick_s=0.1),
        **({"slack": slack} if slack else {}),
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def slack_api() -> AsyncIterator[FakeSlackApi]:
    with FakeSlackApi("xoxb-test-token") as api:
        yield api  # type: ignore[misc]


async def started(settings: Settings) -> Service:
    svc = await build_service(settings)
    await svc.start(sweep=False)
    return svc


async def make_due(store: ContextStore, schedule: Schedule, ago_s: float = 65.0) -> None:
    """Move a schedule's last fire back so that its newest fire time is due now (on time)."""
    stmt = update(schedules).where(schedules.c.id == schedule.id).values(last_fire_at=time.time() - ago_s)
    await store.db.run(lambda conn: conn.execute(stmt))


async def poll(check, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def slack_owner(store: ContextStore, tenant: TenantFixture) -> Principal:
    user = await store.directory.resolve_identity(tenant.id, "slack", "UOWNER", display_name="owner")
    return Principal(tenant.id, user.id, Role.MEMBER)


async def test_a_schedule_proposed_in_chat_exists_only_after_approval(
    database_url: str, store: ContextStore, tenant: TenantFixture
) -> None:
    svc = await started(settings_for(database_url))
    try:
        who = tenant.member
        text = "post the ops digest to <#C0OPS|ops> every weekday at 9:00 Europe/Berlin"
        submitted = await svc.runtime.submit(
            who, Submission(bot="ops", text=text, surface="slack", thread_key="C0OPS:1700000000.000100")
        )
        assert submitted.run is not None
        parked = await svc.runtime.wait(
            who, submitted.run.id, 20, until=frozenset({RunStatus.WAITING_APPROVAL})
        )
        assert parked.status is RunStatus.WAITING_APPROVAL
        assert await svc.store.schedules.find(tenant.id) == []  # proposed, not created

        [approval] = await svc.runtime.approvals(who)
        assert approval.tool == "create_schedule" and approval.tier == "user"
        await svc.runtime.decide(who, approval.id, approve=True)
        done = await svc.runtime.wait(who, submitted.run.id, 20)
        assert done.status is RunStatus.COMPLETED, done.error_message

        [created] = await svc.store.schedules.find(tenant.id)
        assert (created.cron, created.timezone, created.bot, created.kind) == (
            "00 9 * * mon-fri",
            "Europe/Berlin",
            "ops",
            "digest",
        )
        assert created.target == {"surface": "slack", "channel": "C0OPS", "thread": None, "user": None}
        assert created.owner_id == who.user_id
        assert created.id in (done.answer or "")
        audit = await svc.store.audit.query(tenant.id, AuditQuery())
        assert "schedule.created" in [e.action for e in audit]
    finally:
        await svc.stop()


async def test_a_digest_is_posted_at_the_top_level_of_the_target_channel_once(
    database_url: str, store: ContextStore, tenant: TenantFixture, slack_api: FakeSlackApi
) -> None:
    svc = await started(settings_for(database_url, slack_api))
    try:
        owner = await slack_owner(svc.store, tenant)
        earlier = await svc.runtime.submit(
            tenant.member, Submission(bot="support", text="where is order 42?")
        )
        assert earlier.run is not None
        await svc.runtime.wait(tenant.member, earlier.run.id, 20)
        backdate = update(runs).where(runs.c.id == earlier.run.id).values(created_at=time.time() - 600)
        await svc.store.db.run(lambda conn: conn.execute(backdate))  # before the fire: "yesterday"
        schedule = await schedule_book(svc.store, svc.runtime.bots).create(
            owner,
            Draft(
                bot="ops",
                prompt="Post the ops digest",
                cron="* * * * *",
                target={"surface": "slack", "channel": "C0OPS"},
            ),
        )
        await make_due(svc.store, schedule)
        assert svc.scheduler is not None
        assert await svc.scheduler.tick() == 1
        assert await svc.scheduler.tick() == 0

        await poll(lambda: _async(len(slack_api.messages("C0OPS")) >= 1))
        [posted] = slack_api.messages("C0OPS")
        assert posted.thread_ts is None  # top level, no status line before it
        assert posted.text.startswith("*Ops digest*")  # bold in Slack's mrkdwn
        assert "Runs: 1 (completed 1)" in posted.text and "Failures: none" in posted.text
        [fire] = await svc.store.schedules.fires(tenant.id, schedule.id)
        assert fire.status == "done" and fire.run_id is not None
        run = await svc.store.runs.get(tenant.id, fire.run_id)
        assert (run.user_id, run.bot, run.surface) == (owner.user_id, "ops", "slack")

        # The same fire again (a scheduler retaking it after a crash) finds the same run.
        digest = DigestHandler(svc.runtime, svc.store, THREAD_KEYS, {})
        await digest.fire(schedule, datetime.fromtimestamp(fire.fire_at, UTC))
        count = select(func.count()).select_from(runs).where(runs.c.bot == "ops")
        assert await svc.store.db.run(lambda conn: conn.execute(count).scalar_one()) == 1
    finally:
        await svc.stop()


async def test_a_target_that_is_gone_disables_the_schedule_and_tells_the_owner(
    database_url: str, store: ContextStore, tenant: TenantFixture, slack_api: FakeSlackApi
) -> None:
    svc = await started(settings_for(database_url, slack_api))
    try:
        owner = await slack_owner(svc.store, tenant)
        schedule = await schedule_book(svc.store, svc.runtime.bots).create(
            owner,
            Draft(
                bot="ops",
                prompt="Post the ops digest",
                cron="* * * * *",
                target={"surface": "slack", "channel": "CGONE"},
                name="ops digest",
            ),
        )
        slack_api.fail("chat.postMessage", times=1, status=200, error="channel_not_found", retry_after=None)
        await make_due(svc.store, schedule)
        assert svc.scheduler is not None
        assert await svc.scheduler.tick() == 1

        async def disabled() -> bool:
            return not (await svc.store.schedules.get(tenant.id, schedule.id)).enabled

        await poll(disabled)
        await poll(lambda: _async(len(slack_api.messages("DUOWNER")) == 1))
        [dm] = slack_api.messages("DUOWNER")
        assert "paused your schedule" in dm.text and schedule.id in dm.text and "channel_not_found" in dm.text
        assert [c.args["users"] for c in slack_api.calls("conversations.open")] == ["UOWNER"]
        found = await svc.store.schedules.get(tenant.id, schedule.id)
        assert found.disabled_reason == "slack target gone: channel_not_found"
        audit = [e for e in await svc.store.audit.query(tenant.id) if e.action == "schedule.disabled"]
        assert [e.detail["schedule_id"] for e in audit] == [schedule.id]
        await make_due(svc.store, schedule)
        assert await svc.scheduler.tick() == 0  # disabled: no more fires
    finally:
        await svc.stop()


async def test_500_schedules_in_one_minute_all_fire_within_the_tenant_limits(
    database_url: str, store: ContextStore, tenant: TenantFixture
) -> None:
    cap = 3
    admission = AdmissionSettings(
        max_active_runs_per_tenant=cap, max_queue_depth=5, retry_after_s=1, hold_s=0.2
    )
    svc = await started(
        settings_for(
            database_url,
            admission=admission,
            scheduler=SchedulerSettings(jitter_s=2.0, tick_s=0.05, max_fires_per_tick=25),
        )
    )
    try:
        back = time.time() - 65
        due_minute = (back // 60 + 1) * 60  # every schedule's one fire today, in the last minute
        at = datetime.fromtimestamp(due_minute, UTC)
        book = schedule_book(svc.store, svc.runtime.bots)
        target = {"surface": "slack", "channel": "C0OPS"}
        draft = Draft(
            bot="ops", prompt="Post the ops digest", cron=f"{at.minute} {at.hour} * * *", target=target
        )
        made = [await book.create(tenant.member, draft) for _ in range(500)]
        stmt = update(schedules).where(schedules.c.tenant_id == tenant.id).values(last_fire_at=back)
        await svc.store.db.run(lambda conn: conn.execute(stmt))

        running = (
            select(func.count())
            .select_from(runs)
            .where(runs.c.tenant_id == tenant.id, runs.c.status == "running")
        )
        done_fires = (
            select(func.count())
            .select_from(schedule_fires)
            .where(schedule_fires.c.status == "done", schedule_fires.c.fire_at == due_minute)
        )
        completed = select(func.count()).select_from(runs).where(runs.c.status == "completed")
        assert svc.scheduler is not None
        await svc.scheduler.start()
        peak = 0
        deadline = time.monotonic() + 90
        while True:
            peak = max(peak, await svc.store.db.run(lambda conn: conn.execute(running).scalar_one()))
            if await svc.store.db.run(lambda conn: conn.execute(completed).scalar_one()) == len(made):
                break
            assert time.monotonic() < deadline, "the burst did not finish in time"
            await asyncio.sleep(0.02)
        await svc.scheduler.stop()
        assert peak <= cap
        assert await svc.store.db.run(lambda conn: conn.execute(done_fires).scalar_one()) == len(made)
    finally:
        await svc.stop()


async def test_a_fire_refused_as_busy_is_deferred_and_fires_later(
    database_url: str, store: ContextStore, tenant: TenantFixture
) -> None:
    admission = AdmissionSettings(max_queue_depth=1, retry_after_s=1)
    # A new minute would bring the schedule's next fire, and that fire would take the one free
    # slot before the deferred one is retried: start well clear of a minute's turn.
    if (second := time.time() % 60) > 45:
        await asyncio.sleep(61 - second)
    svc = await build_service(settings_for(database_url, admission=admission))  # not started: runs wait
    try:
        blocker = await svc.runtime.submit(tenant.admin, Submission(bot="support", text="hi"))
        assert blocker.run is not None
        schedule = await schedule_book(svc.store, svc.runtime.bots).create(
            tenant.member,
            Draft(
                bot="ops",
                prompt="Post the ops digest",
                cron="* * * * *",
                target={"surface": "slack", "channel": "C1"},
            ),
        )
        await make_due(svc.store, schedule)
        assert svc.scheduler is not None
        await svc.scheduler.tick()
        [fire] = await svc.store.schedules.fires(tenant.id, schedule.id)
        assert (fire.status, fire.run_id) == ("pending", None)  # deferred, not lost
        assert "busy" in (fire.error or "")

        await svc.runtime.cancel(tenant.admin, blocker.run.id)

        async def fired() -> bool:
            await svc.scheduler.tick()  # type: ignore[union-attr]
            return (await svc.store.schedules.fires(tenant.id, schedule.id))[0].status == "done"

        await poll(fired, timeout=10)
        [fire] = await svc.store.schedules.fires(tenant.id, schedule.id)
        assert fire.attempts == 2 and fire.run_id is not None
    finally:
        await svc.stop()


async def _async(value: bool) -> bool:
    return value
