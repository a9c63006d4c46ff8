"""Managing schedules, the same for chat, the REST API and the CLI: validate, authorize, audit.

Every call names who is asking. A member sees and changes their own schedules; an admin those of
the whole tenant; nobody reaches another tenant's (NotFound, never "forbidden": ids don't leak).

The exact cron grammar belongs to the timing engine (scheduler/, APScheduler), which core may not
import; callers that have it pass it in as `TimingRules`, which computes a first fire time.
Without it only the shape and the bounds are checked, and the scheduler disables (with an audit
entry) a schedule it cannot compute fire times for. A kind's own params (an anomaly check's
detector, say) are checked by the `KindRules` the caller passes in, for the same reason.

Every number has a floor and a ceiling, checked here before the store is touched: one member's
schedule must never be able to stop the scheduler that serves every tenant.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import Forbidden, InvalidInput, NotFound
from core.ports import BookStore
from core.records import Principal
from core.schedule_records import Draft, Misfire, Schedule

TARGET_KEYS = frozenset({"surface", "channel", "thread", "user", "conversation"})
_PLACE_KEYS = ("surface", "channel", "thread", "user")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?#]+$")
MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 366 * 86_400  # a leap year: anything rarer is not a schedule
MAX_GRACE_S = 7 * 86_400  # a fire more than a week late is not the fire people asked for
MAX_PARAMS_CHARS = 16_000
MAX_PARAMS_DEPTH = 8
MAX_PARAMS_NUMBER = 2**53  # the whole numbers every JSON reader (and a float) holds exactly
MAX_PROMPT_CHARS = 4000
# The widths of the schedules table's text columns: longer is a clear 422, not a database error.
TEXT_LIMITS = {"name": 200, "bot": 100, "kind": 40, "cron": 200, "timezone": 64}

# A kind's own params (e.g. an anomaly check), checked at creation: raise InvalidInput.
KindRules = Mapping[str, Callable[[dict[str, Any]], object]]


class TimingRules(Protocol):
    def check(self, cron: str | None, interval_s: int | None, timezone: str, *, now: float) -> None:
        """Raise InvalidInput when no fire time after `now` can be computed for this timing."""
        ...


class TargetRules(Protocol):
    async def check(self, tenant_id: str, target: dict[str, Any]) -> dict[str, Any]:
        """The target as its surface needs it (the shape is checked already), or InvalidInput
        saying what is wrong with it there: surfaces live in channels/, which core may not import."""
        ...


class BasicTiming:
    """The shape of a timing: exactly one of cron (five fields) or an interval within bounds, and
    a real time zone."""

    def check(self, cron: str | None, interval_s: int | None, timezone: str, *, now: float) -> None:
        if (cron is None) == (interval_s is None):
            raise InvalidInput("give exactly one of cron or interval_s")
        if cron is not None:
            fields = cron.split()
            if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
                raise InvalidInput(f"cron {cron!r} needs five fields: minute hour day month day-of-week")
        if interval_s is not None:
            check_int("interval_s", interval_s, MIN_INTERVAL_S, MAX_INTERVAL_S)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                f"unknown time zone {timezone!r} (use an IANA name like Europe/Berlin)"
            ) from None


class ScheduleBook:
    def __init__(
        self,
        store: BookStore,
        timing: TimingRules | None = None,
        *,
        bots: frozenset[str] | None = None,
        targets: TargetRules | None = None,
        kinds: KindRules | None = None,
        admin_kinds: frozenset[str] = frozenset(),
    ) -> None:
        self._store = store
        self._timing = timing or BasicTiming()
        self._bots = bots  # the known bot names, when the caller has the registry
        self._targets = targets  # the surfaces' own rules, when the caller has the surfaces
        self._kinds = kinds or {}  # the kinds' params rules, when the caller has the kinds
        self._admin_kinds = admin_kinds  # kinds only an admin may create (a server-side sync)

    async def create(self, who: Principal, draft: Draft, *, schedule_id: str = "") -> Schedule:
        """`schedule_id` (optional) makes creation idempotent: a retry returns the first schedule."""
        if schedule_id:
            try:
                return await self._store.schedules.get(who.tenant_id, schedule_id)
            except NotFound:
                pass
        if draft.kind in self._admin_kinds and not who.is_admin:
            raise Forbidden(f"only an admin may create a {draft.kind} schedule")
        check_draft(draft)
        self._timing.check(draft.cron, draft.interval_s, draft.timezone, now=self._store.clock.now())
        if draft.kind in self._kinds:
            self._kinds[draft.kind](draft.params)
        target = check_target(draft.target)
        if self._targets is not None:
            target = await self._targets.check(who.tenant_id, target)
        if self._bots is not None and draft.bot not in self._bots:
            raise InvalidInput(f"no bot named {draft.bot!r}; known: {', '.join(sorted(self._bots))}")
        schedule = Schedule(
            id=schedule_id,
            tenant_id=who.tenant_id,
            owner_id=who.user_id,
            bot=draft.bot,
            kind=draft.kind,
            cron=" ".join(draft.cron.split()) if draft.cron else None,
            interval_s=draft.interval_s,
            timezone=draft.timezone,
            target=target,
            prompt=draft.prompt.strip(),
            params=dict(draft.params),
            misfire=Misfire(draft.misfire),
            grace_s=draft.grace_s,
            name=draft.name.strip() or draft.prompt.strip()[:60],
        )
        return await self._store.schedules.create(schedule, actor_user_id=who.user_id)

    async def requester(self, tenant_id: str, user_id: str) -> Principal:
        user = await self._store.directory.get_user(tenant_id, user_id)
        return Principal(tenant_id, user.id, user.role)

    async def list(self, who: Principal) -> list[Schedule]:
        owner = None if who.is_admin else who.user_id
        return await self._store.schedules.find(who.tenant_id, owner_id=owner)

    async def get(self, who: Principal, schedule_id: str) -> Schedule:
        schedule = await self._store.schedules.get(who.tenant_id, schedule_id)
        if not who.is_admin and schedule.owner_id != who.user_id:
            raise NotFound(f"no schedule {schedule_id}")
        return schedule

    async def pause(self, who: Principal, schedule_id: str) -> Schedule:
        await self.get(who, schedule_id)
        return await self._store.schedules.set_enabled(
            who.tenant_id, schedule_id, False, actor_user_id=who.user_id, reason="paused"
        )

    async def resume(self, who: Principal, schedule_id: str) -> Schedule:
        await self.get(who, schedule_id)
        return await self._store.schedules.set_enabled(
            who.tenant_id, schedule_id, True, actor_user_id=who.user_id
        )

    async def delete(self, who: Principal, schedule_id: str) -> None:
        await self.get(who, schedule_id)
        await self._store.schedules.delete(who.tenant_id, schedule_id, actor_user_id=who.user_id)


def check_draft(draft: Draft) -> None:
    """The draft's numbers and text within their bounds (the timing is the TimingRules')."""
    if not draft.prompt.strip():
        raise InvalidInput("a schedule needs a prompt")
    if len(draft.prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput(f"the prompt is longer than {MAX_PROMPT_CHARS} characters")
    for name, limit in TEXT_LIMITS.items():
        value = getattr(draft, name)
        if value is not None and len(value) > limit:
            raise InvalidInput(f"{name} is longer than {limit} characters")
    check_int("grace_s", draft.grace_s, 0, MAX_GRACE_S)
    check_params(draft.params)


def check_int(name: str, value: object, low: int, high: int) -> None:
    # bool is an int to Python, never to a person filling in a number
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}, got {value!r}")


def check_params(params: dict[str, Any]) -> None:
    """Plain JSON of a bounded size: finite numbers of a size every reader holds exactly."""
    if not isinstance(params, dict):
        raise InvalidInput("params must be a JSON object")
    _check_value(params, "params", 0)
    try:
        size = len(json.dumps(params, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"params must be plain JSON: {exc}") from None
    if size > MAX_PARAMS_CHARS:
        raise InvalidInput(f"params are larger than {MAX_PARAMS_CHARS} characters of JSON")


def _check_value(value: object, where: str, depth: int) -> None:
    if depth > MAX_PARAMS_DEPTH:
        raise InvalidInput(f"params are nested deeper than {MAX_PARAMS_DEPTH} levels")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int | float):
        # an int is compared as an int: a float of 10**400 would itself overflow
        finite = isinstance(value, int) or math.isfinite(value)
        if not (finite and abs(value) <= MAX_PARAMS_NUMBER):
            raise InvalidInput(f"{where} must be a finite number within ±2**53, got {value!r}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_value(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _check_value(item, f"{where}[{n}]", depth + 1)


def check_target(target: dict[str, Any]) -> dict[str, Any]:
    """The surface-neutral target: {"surface", "channel", "thread", "user"}, a channel (optionally
    a thread in it) or a user to message directly; or {"surface", "conversation"}, a conversation
    the surface stored (Teams posts only where someone talked to the bot)."""
    unknown = set(target) - TARGET_KEYS
    if unknown:
        raise InvalidInput(f"unknown target fields: {', '.join(sorted(unknown))}")
    clean = {k: (str(target[k]).strip() if target.get(k) else None) for k in TARGET_KEYS}
    if not clean["surface"]:
        raise InvalidInput("a target needs a surface, e.g. slack")
    if clean["conversation"]:
        if clean["channel"] or clean["thread"] or clean["user"]:
            raise InvalidInput("a target names a conversation or a channel/user, not both")
        return {"surface": clean["surface"], "conversation": clean["conversation"]}
    if bool(clean["channel"]) == bool(clean["user"]):
        raise InvalidInput("a target needs exactly one of channel or user (or a stored conversation)")
    if clean["thread"] and not clean["channel"]:
        raise InvalidInput("a target thread needs its channel")
    return {k: clean[k] for k in _PLACE_KEYS}


async def disable_for_run(store: BookStore, tenant_id: str, run_id: str, reason: str) -> Schedule | None:
    """A scheduled run's target is gone: disable its schedule (audited as "schedule.disabled").
    Returns the schedule when this call disabled it; None if the run was not scheduled or the
    schedule was already off (so the owner is told once)."""
    fire = await store.schedules.fire_for_run(tenant_id, run_id)
    if fire is None:
        return None
    try:
        schedule = await store.schedules.get(tenant_id, fire.schedule_id)
    except NotFound:
        return None
    if not schedule.enabled:
        return None
    return await store.schedules.set_enabled(tenant_id, schedule.id, False, actor_user_id=None, reason=reason)
