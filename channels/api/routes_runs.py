"""The run endpoints: submit, list, read, follow events, cancel, resume. Each handler
authenticates, translates HTTP into one `Runtime` call, and renders the result."""

from __future__ import annotations

import re
import weakref

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from channels.api.auth import authenticate
from channels.api.body import read_json, validate_query
from channels.api.errors import json_response
from channels.api.schemas import (
    MAX_SEQ,
    EventList,
    EventsQuery,
    ListQuery,
    PendingView,
    RunLinks,
    RunList,
    RunView,
    SubmitBody,
    event_view,
    run_view,
    submitted_view,
)
from channels.api.sse import StreamOptions, event_stream
from core.errors import InvalidInput, SwitchboardError
from core.records import Principal, Run, RunEvent
from core.runtime import Runtime, Submission

SURFACE = "api"
_SEQ = re.compile(r"[0-9]{1,10}")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class RunEndpoints:
    def __init__(self, runtime: Runtime, *, max_body_bytes: int, stream: StreamOptions) -> None:
        self._runtime = runtime
        self._max_body_bytes = max_body_bytes
        self._stream = stream

    def routes(self) -> list[Route]:
        return [
            Route("/v1/runs", self.collection, methods=["GET", "POST"], name="runs"),
            Route("/v1/runs/{run_id}", self.get_run, methods=["GET"], name="get_run"),
            Route("/v1/runs/{run_id}/events", self.events, methods=["GET"], name="run_events"),
            Route("/v1/runs/{run_id}/cancel", self.cancel, methods=["POST"], name="cancel_run"),
            Route("/v1/runs/{run_id}/resume", self.resume, methods=["POST"], name="resume_run"),
        ]

    async def collection(self, request: Request) -> Response:
        # One route per path, so a wrong method gets a 405 whose Allow header lists both.
        return await (self.submit(request) if request.method == "POST" else self.list_runs(request))

    async def submit(self, request: Request) -> Response:
        who = await self._who(request)
        body = await read_json(request, SubmitBody, self._max_body_bytes)
        submission = Submission(
            bot=body.bot,
            text=body.message,
            surface=SURFACE,
            thread_key=_private(who, body.session),
            idempotency_key=idempotency_key(request),
        )
        submitted = await self._runtime.submit(who, submission)
        if submitted.run is None:  # only a surface event id can be a duplicate delivery; we send none
            raise SwitchboardError("the runtime recorded no run for this request")
        run = submitted.run
        pending = await pending_of(self._runtime, run)  # a replay may find it waiting
        view = submitted_view(
            run,
            links(request, run.id),
            created=submitted.created,
            pending=pending,
            queue_position=submitted.position,
        )
        headers = {"Location": view.links.self_}
        if not submitted.created:
            headers["Idempotent-Replayed"] = "true"
        # A replay answers like the original request did: 202, the work was accepted then.
        return json_response(view, 202, headers)

    async def list_runs(self, request: Request) -> Response:
        who = await self._who(request)
        query = validate_query(ListQuery, request.query_params)
        found = await self._runtime.runs(who, status=query.status, bot=query.bot, limit=query.limit)
        return json_response(RunList(runs=[await self._view(request, run) for run in found]))

    async def get_run(self, request: Request) -> Response:
        who = await self._who(request)
        run = await self._runtime.run(who, request.path_params["run_id"])
        return json_response(await self._view(request, run))

    async def events(self, request: Request) -> Response:
        who = await self._who(request)
        run_id = request.path_params["run_id"]
        query = validate_query(EventsQuery, request.query_params)
        after = last_event_id(request, default=query.after)
        # Read the run before anything else: an unknown run is a 404, not an empty stream. For the
        # JSON list the status is read before the events, so a closed status means a full list.
        run = await self._runtime.run(who, run_id)
        if wants_json(request):
            events = await self._all_events(who, run_id, after)
            return json_response(
                EventList(run_id=run.id, status=run.status, events=[event_view(e) for e in events])
            )
        stream = event_stream(
            self._runtime, who, run_id, after=after, follow=query.follow, options=self._stream
        )
        return StreamingResponse(stream, media_type="text/event-stream", headers=_SSE_HEADERS)

    async def cancel(self, request: Request) -> Response:
        who = await self._who(request)
        run = await self._runtime.cancel(who, request.path_params["run_id"])
        return json_response(await self._view(request, run))

    async def resume(self, request: Request) -> Response:
        who = await self._who(request)
        run = await self._runtime.resume(who, request.path_params["run_id"])
        return json_response(await self._view(request, run), 202)

    async def _who(self, request: Request) -> Principal:
        return await authenticate(request, self._runtime)

    async def _all_events(self, who: Principal, run_id: str, after: int) -> list[RunEvent]:
        events: list[RunEvent] = []
        while batch := await self._runtime.events(who, run_id, after):
            events += batch
            after = batch[-1].seq
        return events

    async def _view(self, request: Request, run: Run) -> RunView:
        return await full_run_view(self._runtime, request, run)


async def full_run_view(runtime: Runtime, request: Request, run: Run) -> RunView:
    return run_view(run, links(request, run.id), await pending_of(runtime, run))


async def pending_of(runtime: Runtime, run: Run) -> PendingView | None:
    """What a parked run waits for (one small query, and only for a run that waits on a person)."""
    pending = await runtime.pending(run)
    return None if pending is None else PendingView(kind=pending.kind, id=pending.id)


def links(request: Request, run_id: str) -> RunLinks:
    """Paths, not absolute URLs: they stay right behind proxies and under any mount point."""
    runs = _runs_path(request)
    return RunLinks(self=f"{runs}/{run_id}", events=f"{runs}/{run_id}/events")


def _runs_path(request: Request) -> str:
    """`url_for("runs")`, asked once per router and mount point: it walks every route, and
    polling a run asked it twice a request (a tenth of the event loop's time under load)."""
    router, root = request.scope["router"], request.scope.get("root_path", "")
    known = _RUNS_PATHS.get((id(router), root))
    if known is not None and known[0]() is router:
        return known[1]
    path = request.url_for("runs").path
    _RUNS_PATHS[(id(router), root)] = (weakref.ref(router), path)
    return path


# Routers are unhashable (they compare by their routes): keyed by id, checked by a weak reference.
_RUNS_PATHS: dict[tuple[int, str], tuple[weakref.ref[object], str]] = {}


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput("Idempotency-Key must be 1 to 128 visible ASCII characters")
    return key


def last_event_id(request: Request, *, default: int) -> int:
    """`Last-Event-ID` (sent by a reconnecting EventSource) wins over `?after=`."""
    value = (request.headers.get("last-event-id") or "").strip()
    if not value:
        return default
    if not _SEQ.fullmatch(value) or int(value) > MAX_SEQ:
        raise InvalidInput("Last-Event-ID must be an event seq (a non-negative integer)")
    return int(value)


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/event-stream" not in accept


def _private(who: Principal, key: str | None) -> str | None:
    """Scope a client-chosen session key to the caller's user. Core keys sessions by tenant (a
    Slack thread is shared by design); over the API, a colleague who guessed the key would
    otherwise join the session and its history. (Core scopes idempotency keys per user itself.)"""
    return None if key is None else f"{who.user_id}:{key}"
