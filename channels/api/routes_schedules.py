"""The schedule endpoints: create, list, read, pause, resume and delete a tenant's schedules.

Each handler authenticates, translates HTTP into one `ScheduleBook` call and renders the result;
the book decides who may see and change what (another tenant's schedule is a 404).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic.config import JsonDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.api.auth import authenticate
from channels.api.body import read_json
from channels.api.errors import json_response
from channels.api.schemas import SPACE, FreeText, Said
from core.records import Principal
from core.runtime import Runtime
from core.schedule_records import Draft, Misfire, Schedule
from core.schedules import (
    MAX_GRACE_S,
    MAX_INTERVAL_S,
    MAX_PARAMS_DEPTH,
    MAX_PARAMS_NUMBER,
    MAX_PROMPT_CHARS,
    MIN_INTERVAL_S,
    TEXT_LIMITS,
    ScheduleBook,
)
from core.text import check_identifier

# --- the cron grammar the API takes, as one regex the document shows and the server matches ----
# Five fields separated by single spaces: minute hour day-of-month month day-of-week (APScheduler's
# reading: 0 or mon is Monday). A field is a comma list of `*`, `*/step`, a value or an ascending
# range `a-b`; days of the week may be named (mon..sun, `mon-fri`). A day-of-month and month pair
# that never meet ("30 2") is not in the grammar, so everything it matches has a next fire time.


def _numbers(low: int, high: int) -> str:
    """A regex for the whole numbers low..high, written without leading zeros."""
    parts = []
    for tens in range(low // 10, high // 10 + 1):
        first, last = max(low, tens * 10) % 10, min(high, tens * 10 + 9) % 10
        units = str(first) if first == last else f"[{first}-{last}]"
        parts.append(units if tens == 0 else f"{tens}{units}")
    return f"(?:{'|'.join(parts)})"


def _item(low: int, high: int, values: tuple[int, int] | None = None) -> str:
    """One item of a field whose values run low..high: `*`, `*/step`, a value or an ascending
    range; `values` narrows the single values and the ranges' starts."""
    first, last = values or (low, high)
    ranges = "|".join(f"{a}-{_numbers(a + 1, high)}" for a in range(first, min(last, high - 1) + 1))
    return f"(?:\\*(?:/{_numbers(1, high - low)})?|{ranges}|{_numbers(first, last)})"


def _list(item: str, some: str | None = None) -> str:
    """A comma list of `item`s, with at least one `some` when given."""
    return f"{item}(?:,{item})*" if some is None else f"(?:{item},)*{some}(?:,{item})*"


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAMED_DAY = "|".join(
    f"{day}(?:-(?:{'|'.join(_DAYS[n + 1 :])}))?" if n < 6 else day for n, day in enumerate(_DAYS)
)
_MINUTE = _list(_item(0, 59))
_HOUR = _list(_item(0, 23))
_WEEKDAY = _list(f"(?:{_item(0, 6)}|{_NAMED_DAY})")
_DAY, _MONTH = _item(1, 31), _item(1, 12)
_DAY_30 = "(?:30|30-31)"
_MONTH_RANGE = "|".join(f"{a}-{_numbers(a + 1, 12)}" for a in range(1, 12))  # each holds a long month
_NOT_FEBRUARY = f"(?:\\*(?:/{_numbers(1, 11)})?|{_MONTH_RANGE}|1|{_numbers(3, 12)})"
_LONG_MONTH = f"(?:\\*(?:/{_numbers(1, 11)})?|{_MONTH_RANGE}|1|3|5|7|8|10|12)"
_DAY_AND_MONTH = (
    f"(?:{_list(_DAY, _item(1, 31, (1, 29)))} {_list(_MONTH)}"  # a day every month has
    f"|{_list(f'(?:{_DAY_30}|31)', _DAY_30)} {_list(_MONTH, _NOT_FEBRUARY)}"  # the 30th, not only February
    f"|31(?:,31)* {_list(_MONTH, _LONG_MONTH)})"  # the 31st, in a month that has one
)
CRON_PATTERN = f"{_MINUTE} {_HOUR} {_DAY_AND_MONTH} {_WEEKDAY}"


@cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def _check_zone(value: str) -> str:
    if value not in time_zones():
        raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)")
    return value


# The document shows the common form as a pattern; the server takes all of APScheduler's cron
# (steps on ranges such as `9-17/2`, month names, any case) and refuses, with the reason, a timing
# that never fires. So a client that keeps to the pattern is never refused for its cron.
Cron = Annotated[
    str,
    Field(
        max_length=TEXT_LIMITS["cron"],
        json_schema_extra={
            "pattern": f"^{CRON_PATTERN}$",
            "description": "Five fields: minute hour day month day-of-week, read in `timezone`. The "
            "pattern is the common form, every timing of which fires; APScheduler's full cron syntax "
            "(`9-17/2`, month names) is accepted too.",
        },
    ),
]
TimeZone = Annotated[str, AfterValidator(_check_zone), Field(json_schema_extra={"enum": list(time_zones())})]

# A channel, thread, user or conversation: no control character, and something besides spaces.
_CONTROL = "\\u0000-\\u001f\\u007f-\\u009f"


def _check_name(value: str) -> str:
    check_identifier(value, "the value")
    if not value.strip():
        raise ValueError("the value is empty or only white space")
    return value


def _place(max_length: int = 200) -> Any:
    return Field(
        max_length=max_length,
        json_schema_extra={"pattern": f"^[^{_CONTROL}]*[^{_CONTROL}{SPACE}][^{_CONTROL}]*$"},
    )


Place = Annotated[str, AfterValidator(_check_name), _place()]


# A Discord id: a bare snowflake, or as Discord shows it (<#id> for a channel, <@id> for a user).
_NO_NUL = {"type": "string", "pattern": "^[^\\u0000]*$"}


def _json_value(depth: int) -> dict[str, Any]:
    """The JSON a schedule's params may hold at `depth` (core/schedules.check_params): text
    without NUL, numbers within ±2**53, and containers no deeper than MAX_PARAMS_DEPTH."""
    scalars: list[dict[str, Any]] = [
        _NO_NUL,
        {"type": "number", "minimum": -MAX_PARAMS_NUMBER, "maximum": MAX_PARAMS_NUMBER},
        {"type": "boolean"},
        {"type": "null"},
    ]
    if depth >= MAX_PARAMS_DEPTH:
        return {"anyOf": scalars}
    inner = _json_value(depth + 1)
    return {
        "anyOf": [
            *scalars,
            {"type": "array", "items": inner},
            {"type": "object", "propertyNames": _NO_NUL, "additionalProperties": inner},
        ]
    }


Params = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": _NO_NUL,
            "additionalProperties": _json_value(1),
            "description": "What the schedule's kind reads (an anomaly check's source and detector); "
            "plain JSON, at most 16,000 characters of it.",
        }
    ),
]


# A Teams conversation key, as long as the Teams surface keeps them (channels/teams/profile.py);
# the API names the number rather than importing another surface.
TEAMS_KEY_CHARS = 240
Snowflake = Annotated[str, Field(pattern="^(?:[0-9]{1,20}|<(?:#|@!?)[0-9]{1,20}>)$")]

_CHANNEL_OR_USER: JsonDict = {
    "oneOf": [
        {"required": ["channel"], "properties": {"channel": {"type": "string"}, "user": {"type": "null"}}},
        {
            "required": ["user"],
            "properties": {
                "user": {"type": "string"},
                "channel": {"type": "null"},
                "thread": {"type": "null"},
            },
        },
    ]
}


class _PlaceTarget(BaseModel):
    """A channel (optionally a thread in it) or a user to message directly."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_CHANNEL_OR_USER)

    @model_validator(mode="after")
    def _one_place(self) -> _PlaceTarget:
        channel, thread, user = (getattr(self, k) for k in ("channel", "thread", "user"))
        if (channel is None) == (user is None):
            raise ValueError("a target needs exactly one of channel or user")
        if thread is not None and channel is None:
            raise ValueError("a target thread needs its channel")
        return self


class SlackTarget(_PlaceTarget):
    surface: Literal["slack"]
    channel: Place | None = None
    thread: Place | None = None
    user: Place | None = None
    conversation: None = None


class DiscordTarget(_PlaceTarget):
    surface: Literal["discord"]
    channel: Snowflake | None = None
    thread: Snowflake | None = None
    user: Snowflake | None = None
    conversation: None = None


class TeamsTarget(BaseModel):
    """A conversation the bot has stored: Teams posts only where someone talked to it."""

    model_config = ConfigDict(extra="forbid")

    surface: Literal["teams"]
    conversation: Annotated[str, AfterValidator(_check_name), _place(TEAMS_KEY_CHARS)]
    channel: None = None
    thread: None = None
    user: None = None


TargetBody = Annotated[SlackTarget | DiscordTarget | TeamsTarget, Field(discriminator="surface")]

_CRON_OR_INTERVAL: JsonDict = {
    "oneOf": [
        {"required": ["cron"], "properties": {"cron": {"type": "string"}, "interval_s": {"type": "null"}}},
        {
            "required": ["interval_s"],
            "properties": {"interval_s": {"type": "integer"}, "cron": {"type": "null"}},
        },
    ]
}


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_CRON_OR_INTERVAL)

    bot: str = Field(max_length=TEXT_LIMITS["bot"])
    target: TargetBody
    prompt: Said = Field(max_length=MAX_PROMPT_CHARS)
    cron: Cron | None = None
    interval_s: int | None = Field(default=None, ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S)
    timezone: TimeZone = "UTC"
    kind: str = Field(default="digest", max_length=TEXT_LIMITS["kind"])
    name: FreeText = Field(default="", max_length=TEXT_LIMITS["name"])
    params: Params = Field(default_factory=dict)
    misfire: Misfire = Misfire.SKIP
    grace_s: int = Field(default=300, ge=0, le=MAX_GRACE_S)

    @model_validator(mode="after")
    def _one_timing(self) -> ScheduleBody:
        if (self.cron is None) == (self.interval_s is None):
            raise ValueError("give exactly one of cron or interval_s")
        return self


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
    def __init__(self, runtime: Runtime, book: ScheduleBook, *, max_body_bytes: int) -> None:
        """`book`: the composition root's, with the surfaces' target rules and the exact cron."""
        self._runtime = runtime
        self._book = book
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
        target = body.target.model_dump(exclude_none=True)
        draft = Draft(**body.model_dump(exclude={"target"}), target=target)
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
        return await authenticate(request, self._runtime)
