"""The schedule endpoints: create, list, read, pause, resume and delete a tenant's schedules.

Each handler authenticates, translates HTTP into one `ScheduleBook` call and renders the result;
the book decides who may see and change what (another tenant's schedule is a 404).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# The module, not its function: channels.scheduling imports the surfaces, and a surface may
# import channels.api, which imports this module while channels.scheduling is still loading.
from channels import scheduling
from channels.api.auth import authenticate
from channels.api.body import read_json
from channels.api.errors import json_response
from core.runtime import Runtime
from core.schedules import MAX_GRACE_S, MAX_INTERVAL_S, MIN_INTERVAL_S, Draft
from core.store.records import Principal
from core.store.schedule_records import Misfire, Schedule


class TargetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    surface: str
    channel: str | None = None
    thread: str | None = None
    user: str | None = None
    conversation: str | None = None  # a stored conversation (Teams), instead of channel or user


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot: str
    target: TargetBody
    prompt: str = Field(min_length=1, max_length=4000)
    cron: str | None = None
    interval_s: int | None = Field(default=None, ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S)
    timezone: str = "UTC"
    kind: str = "digest"
    name: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    misfire: Misfire = Misfire.SKIP
    grace_s: int = Field(default=300, ge=0, le=MAX_GRACE_S)


class ScheduleView(BaseModel):
    id: str
    name: str
    bot: str
    kind: str
    cron: str | None
    interval_s: int | None
    timezone: str
    target: dict[str, Any]
    prompt: str
    params: dict[str, Any]
    enabled: bool
    disabled_reason: str | None
    misfire: str
    grace_s: int
    owner_id: str
    created_at: float


class ScheduleList(BaseModel):
    schedules: list[ScheduleView]


def schedule_view(s: Schedule) -> ScheduleView:
    return ScheduleView(
        id=s.id,
        name=s.name,
        bot=s.bot,
        kind=s.kind,
        cron=s.cron,
        interval_s=s.interval_s,
        timezone=s.timezone,
        target=s.target,
        prompt=s.prompt,
        params=s.params,
        enabled=s.enabled,
        disabled_reason=s.disabled_reason,
        misfire=str(s.misfire),
        grace_s=s.grace_s,
        owner_id=s.owner_id,
        created_at=s.created_at,
    )


class ScheduleEndpoints:
    def __init__(self, runtime: Runtime, *, max_body_bytes: int) -> None:
        self._runtime = runtime
        self._book = scheduling.schedule_book(runtime)
        self._max_body_bytes = max_body_bytes

    def routes(self) -> list[Route]:
        return [
            Route("/v1/schedules", self.collection, methods=["GET", "POST"], name="schedules"),
            Route("/v1/schedules/{schedule_id}", self.item, methods=["GET", "DELETE"], name="schedule"),
            Route("/v1/schedules/{schedule_id}/pause", self.pause, methods=["POST"], name="pause_schedule"),
            Route(
                "/v1/schedules/{schedule_id}/resume", self.resume, methods=["POST"], name="resume_schedule"
            ),
        ]

    async def collection(self, request: Request) -> Response:
        who = await self._who(request)
        if request.method == "GET":
            return json_response(
                ScheduleList(schedules=[schedule_view(s) for s in await self._book.list(who)])
            )
        body = await read_json(request, ScheduleBody, self._max_body_bytes)
        draft = Draft(**body.model_dump(exclude={"target"}), target=body.target.model_dump())
        return json_response(schedule_view(await self._book.create(who, draft)), 201)

    async def item(self, request: Request) -> Response:
        who = await self._who(request)
        schedule_id = request.path_params["schedule_id"]
        if request.method == "GET":
            return json_response(schedule_view(await self._book.get(who, schedule_id)))
        await self._book.delete(who, schedule_id)
        return Response(status_code=204)

    async def pause(self, request: Request) -> Response:
        who = await self._who(request)
        return json_response(schedule_view(await self._book.pause(who, request.path_params["schedule_id"])))

    async def resume(self, request: Request) -> Response:
        who = await self._who(request)
        return json_response(schedule_view(await self._book.resume(who, request.path_params["schedule_id"])))

    async def _who(self, request: Request) -> Principal:
        return await authenticate(request, self._runtime.store.directory)
