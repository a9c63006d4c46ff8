"""The alert endpoints: list and read a tenant's alerts; acknowledge, silence or investigate one.

Each handler authenticates, translates HTTP into one `AlertDesk` call and renders the result;
the desk in core decides who may do what and audits decisions and refusals alike. Another
tenant's alert is a 404, as everywhere.

An investigation is an ops-bot run in an API session of the caller's, keyed `alert-<alert id>`:
the web chat (or `POST /v1/runs` with that session) continues the same conversation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.api.auth import authenticate
from channels.api.body import read_json, validate_query
from channels.api.errors import json_response
from channels.api.routes_runs import SURFACE, full_run_view
from channels.api.schemas import RunView, timestamp
from core.alerts.desk import AlertDesk
from core.alerts.lifecycle import LIVE, Alert, AlertStatus
from core.alerts.notices import MAX_SILENCE_S, SILENCE_S
from core.errors import SwitchboardError
from core.records import Principal
from core.runtime import Runtime


class AlertsQuery(BaseModel):
    status: AlertStatus | Literal["live", "all"] = Field(
        default="live", description="live: open, acknowledged or silenced (not resolved)."
    )
    limit: int = Field(default=50, ge=1, le=200)


class SilenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duration_s: float = Field(
        default=SILENCE_S,
        ge=60,
        le=MAX_SILENCE_S,
        description="How long the alert (and the next incidents of its check) stay silent, in seconds.",
    )


class AlertView(BaseModel):
    id: str
    check_id: str = Field(description="The anomaly check (a schedule) that raised it.")
    title: str
    metric: str
    detector: str
    value: float
    narration: str
    status: AlertStatus
    target: dict[str, Any] = Field(description="Where its card is posted (surface, channel, thread).")
    notified: bool = Field(
        description="Whether its card was queued to the target (false: that surface is not set up)."
    )
    bot: str = Field(description="The bot that investigates it.")
    owner_id: str = Field(description="The check's owner: may silence it, as an admin may.")
    acked_by: str | None
    silenced_by: str | None
    silenced_until: datetime | None
    investigation_run_id: str | None
    incident_at: datetime = Field(description="The time of the metric point that opened it.")
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AlertList(BaseModel):
    alerts: list[AlertView]


class InvestigationView(BaseModel):
    alert: AlertView
    run: RunView
    session: str = Field(description="The API session key of the investigation: continue it there.")


def alert_view(a: Alert) -> AlertView:
    return AlertView(
        id=a.id,
        check_id=a.check_id,
        title=a.title,
        metric=a.metric,
        detector=a.detector,
        value=a.value,
        narration=a.narration,
        status=a.status,
        target=a.target,
        notified=a.notified,
        bot=a.bot,
        owner_id=a.owner_id,
        acked_by=a.acked_by,
        silenced_by=a.silenced_by,
        silenced_until=None if a.silenced_until is None else timestamp(a.silenced_until),
        investigation_run_id=a.investigation_run_id,
        incident_at=timestamp(a.incident_ts),
        resolved_at=None if a.resolved_at is None else timestamp(a.resolved_at),
        created_at=timestamp(a.created_at),
        updated_at=timestamp(a.updated_at),
    )


def investigation_session(alert_id: str) -> str:
    return f"alert-{alert_id}"


async def find_alerts(desk: AlertDesk, who: Principal, query: AlertsQuery) -> list[Alert]:
    """The tenant's alerts in the query's status, newest first (ids are time-sortable)."""
    status = query.status if isinstance(query.status, AlertStatus) else None
    found = await desk.alerts(who, status)
    if query.status == "live":
        found = [a for a in found if a.status in LIVE]
    return found[::-1][: query.limit]


class AlertEndpoints:
    def __init__(self, runtime: Runtime, desk: AlertDesk, *, max_body_bytes: int) -> None:
        self._runtime = runtime
        self._desk = desk
        self._max_body_bytes = max_body_bytes

    def routes(self) -> list[Route]:
        return [
            Route("/v1/alerts", self.list_alerts, methods=["GET"], name="alerts"),
            Route("/v1/alerts/{alert_id}", self.get_alert, methods=["GET"], name="alert"),
            Route(
                "/v1/alerts/{alert_id}/acknowledge",
                self.acknowledge,
                methods=["POST"],
                name="acknowledge_alert",
            ),
            Route("/v1/alerts/{alert_id}/silence", self.silence, methods=["POST"], name="silence_alert"),
            Route(
                "/v1/alerts/{alert_id}/investigate",
                self.investigate,
                methods=["POST"],
                name="investigate_alert",
            ),
        ]

    async def list_alerts(self, request: Request) -> Response:
        who = await self._who(request)
        query = validate_query(AlertsQuery, request.query_params)
        found = await find_alerts(self._desk, who, query)
        return json_response(AlertList(alerts=[alert_view(a) for a in found]))

    async def get_alert(self, request: Request) -> Response:
        who = await self._who(request)
        return json_response(alert_view(await self._desk.alert(who, request.path_params["alert_id"])))

    async def acknowledge(self, request: Request) -> Response:
        who = await self._who(request)
        return json_response(alert_view(await self._desk.acknowledge(who, request.path_params["alert_id"])))

    async def silence(self, request: Request) -> Response:
        who = await self._who(request)
        body = await read_json(request, SilenceBody, self._max_body_bytes)
        alert = await self._desk.silence(who, request.path_params["alert_id"], body.duration_s)
        return json_response(alert_view(alert))

    async def investigate(self, request: Request) -> Response:
        who = await self._who(request)
        alert_id = request.path_params["alert_id"]
        session = investigation_session(alert_id)
        # Keyed as routes_runs keys a client's session (`<user id>:<key>`), so a follow-up sent
        # with `session` joins the investigation's conversation.
        alert = await self._desk.investigate(
            who, alert_id, surface=SURFACE, thread_key=f"{who.user_id}:{session}"
        )
        if alert.investigation_run_id is None:
            raise SwitchboardError("the runtime recorded no run for this investigation")
        run = await self._runtime.run(who, alert.investigation_run_id)
        view = InvestigationView(
            alert=alert_view(alert), run=await full_run_view(self._runtime, request, run), session=session
        )
        return json_response(view, 202, {"Location": view.run.links.self_})

    async def _who(self, request: Request) -> Principal:
        return await authenticate(request, self._runtime)
