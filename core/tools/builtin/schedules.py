"""Chat tools for schedules: the agent proposes, the person approves.

Creating, pausing, resuming and deleting are WRITE-tier, so the runtime's approval gate asks the
requesting user before anything changes; listing is a READ. Each acts as the person in the
conversation (their tenant, their role) through `ScheduleBook`, like the REST API and the CLI.
The schedule fires on the surface the conversation is on; `channel`/`user` are that surface's ids.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from pydantic import Field

from core.errors import InvalidInput
from core.ports import Schedules
from core.records import Principal
from core.schedule_records import Draft, Misfire, Schedule
from core.schedules import MAX_GRACE_S, MAX_INTERVAL_S, MIN_INTERVAL_S
from core.tiers import RiskLevel
from core.tools.spec import ToolContext, tool

# The schedule book's bounds in the tool's own unit, so the model sees them in the schema.
EveryMinutes = Annotated[int, Field(ge=MIN_INTERVAL_S // 60, le=MAX_INTERVAL_S // 60)]
GraceMinutes = Annotated[int, Field(ge=0, le=MAX_GRACE_S // 60)]


def _book(ctx: ToolContext) -> Schedules:
    if ctx.schedules is None:
        raise InvalidInput("schedule tools need the schedule book (run them inside a worker)")
    return ctx.schedules


async def _who(ctx: ToolContext) -> Principal:
    return await _book(ctx).requester(ctx.tenant_id, ctx.user_id)


def summary(s: Schedule) -> dict[str, Any]:
    """A schedule as the agent (and the API) shows it."""
    return {
        "id": s.id,
        "name": s.name,
        "bot": s.bot,
        "kind": s.kind,
        "cron": s.cron,
        "interval_s": s.interval_s,
        "timezone": s.timezone,
        "target": s.target,
        "prompt": s.prompt,
        "enabled": s.enabled,
        "disabled_reason": s.disabled_reason,
        "misfire": str(s.misfire),
        "grace_s": s.grace_s,
        "owner_id": s.owner_id,
    }


@tool(risk=RiskLevel.WRITE, timeout_s=10.0, idempotent=True)
async def create_schedule(
    prompt: str,
    ctx: ToolContext,
    cron: str | None = None,
    every_minutes: EveryMinutes | None = None,
    timezone: str = "UTC",
    channel: str | None = None,
    thread: str | None = None,
    user: str | None = None,
    name: str = "",
    misfire: Misfire = Misfire.SKIP,
    grace_minutes: GraceMinutes = 5,
) -> dict[str, Any]:
    """Schedule a recurring message from this bot: at each fire it answers `prompt` and posts the answer.

    Args:
        prompt: What the bot should do at each fire, e.g. "Post the ops digest".
        cron: When, as a five-field cron expression (minute hour day month day-of-week), e.g. "0 9 * * mon-fri".
        every_minutes: Or how often, in minutes (instead of cron).
        timezone: The IANA time zone the cron expression is read in, e.g. "Europe/Berlin".
        channel: The channel id to post in (top level), e.g. "C0123ABCD".
        thread: A thread in that channel to reply in instead (its id or ts).
        user: Or a user id to message directly (instead of a channel).
        name: A short name for the schedule.
        misfire: After downtime: "skip" a missed fire, or "run_late" once within the grace period.
        grace_minutes: How late a missed fire may still run when misfire is "run_late".
    """
    draft = Draft(
        bot=ctx.bot,
        target={"surface": ctx.surface, "channel": channel, "thread": thread, "user": user},
        prompt=prompt,
        cron=cron,
        interval_s=every_minutes * 60 if every_minutes is not None else None,
        timezone=timezone,
        name=name,
        misfire=misfire,
        grace_s=grace_minutes * 60,
    )
    # Derived from the call's idempotency key: a retried call returns the schedule it created.
    schedule_id = "sch_" + hashlib.sha256(ctx.idempotency_key.encode()).hexdigest()[:24]
    created = await _book(ctx).create(await _who(ctx), draft, schedule_id=schedule_id)
    return summary(created)


@tool(risk=RiskLevel.READ, timeout_s=10.0)
async def list_schedules(ctx: ToolContext) -> list[dict[str, Any]]:
    """List the schedules you can see (yours; an admin sees the whole team's)."""
    return [summary(s) for s in await _book(ctx).list(await _who(ctx))]


@tool(risk=RiskLevel.WRITE, timeout_s=10.0, idempotent=True)
async def pause_schedule(schedule_id: str, ctx: ToolContext) -> dict[str, Any]:
    """Pause a schedule: it stops firing until resumed.

    Args:
        schedule_id: The schedule's id, as list_schedules shows it.
    """
    return summary(await _book(ctx).pause(await _who(ctx), schedule_id))


@tool(risk=RiskLevel.WRITE, timeout_s=10.0, idempotent=True)
async def resume_schedule(schedule_id: str, ctx: ToolContext) -> dict[str, Any]:
    """Resume a paused schedule from now on (fires missed while paused are not made up).

    Args:
        schedule_id: The schedule's id, as list_schedules shows it.
    """
    return summary(await _book(ctx).resume(await _who(ctx), schedule_id))


@tool(risk=RiskLevel.WRITE, timeout_s=10.0)
async def delete_schedule(schedule_id: str, ctx: ToolContext) -> dict[str, Any]:
    """Delete a schedule for good.

    Args:
        schedule_id: The schedule's id, as list_schedules shows it.
    """
    await _book(ctx).delete(await _who(ctx), schedule_id)
    return {"id": schedule_id, "deleted": True}


SCHEDULE_TOOLS = (create_schedule, list_schedules, pause_schedule, resume_schedule, delete_schedule)
