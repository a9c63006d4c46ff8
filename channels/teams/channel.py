"""The Teams surface, wired: `POST /api/messages` (the bot's messaging endpoint) and the outbox
dispatcher that sends what the renderer recorded. The composition root builds one and starts it.

A request is authenticated before anything but its size is read: the token is verified before
the body is parsed, then matched to the activity's service URL and channel; a bad token is a 401
and leaves no trace. Errors take the API's shape, `{"error": {"code", "message"}}`. Then the conversation's reference is saved (replies and proactive posts need
it) and the activity handled: a message becomes a run, a card click a decision.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from channels.delivery import SinkOptions
from channels.gone_targets import GoneTargets
from channels.http import ErrorDetail, error_response
from channels.surface import SurfaceDeps
from channels.teams import proactive, profile
from channels.teams.actions import TeamsActions
from channels.teams.activity import CARD_ACTION, BadActivity, Inbound, parse_activity
from channels.teams.alerts import TeamsAlerts, TeamsNoticeRenderer
from channels.teams.auth import AuthOptions, BotFrameworkAuth, Unauthorized
from channels.teams.connector import ConnectorClient, Credentials, TokenSource, default_token_endpoint
from channels.teams.identity import TeamsDirectory
from channels.teams.ingress import TeamsIngress
from channels.teams.profile import SURFACE, TeamsProfile
from channels.teams.renderer import TeamsRenderer
from channels.teams.sink import TeamsSink
from core.alerts.desk import AlertDesk
from core.engine.context import ResponseProfile
from core.outbox_dispatcher import DispatchOptions, OutboxDispatcher
from core.ports import Conversations, SurfacePorts
from core.runtime import Runtime
from core.settings import Settings, TeamsSettings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024


def teams_renderer(settings: TeamsSettings) -> TeamsRenderer:
    """The renderer the store calls for runs on the "teams" surface."""
    return TeamsRenderer(TeamsProfile())


class TeamsChannel:
    def __init__(
        self,
        settings: TeamsSettings,
        runtime: Runtime,
        ports: SurfacePorts,
        alerts: AlertDesk,
        conversations: Conversations,
        *,
        dispatch: DispatchOptions | None = None,
        sink: SinkOptions | None = None,
    ) -> None:
        if not settings.enabled:
            raise ValueError("Teams needs an app id and password (or allow_anonymous, for development)")
        self._session: aiohttp.ClientSession | None = None
        self.auth = BotFrameworkAuth(
            AuthOptions(settings.app_id, settings.openid_metadata_url, settings.allow_anonymous), self.session
        )
        credentials = None
        if settings.app_id and settings.app_password is not None:
            endpoint = settings.token_endpoint or default_token_endpoint(settings.app_tenant_id)
            credentials = Credentials(settings.app_id, settings.app_password.get_secret_value(), endpoint)
        self.conversations = conversations
        self.people = TeamsDirectory(
            ports.identities, frozenset(settings.admins), frozenset(settings.allowed_tenants)
        )
        self.ingress = TeamsIngress(runtime, self.people, ports.outbox, settings.default_bot)
        self.actions = TeamsActions(runtime, self.people, TeamsAlerts(alerts))
        connector = ConnectorClient(TokenSource(credentials, self.session), self.session)
        self.dispatcher = OutboxDispatcher(
            ports.outbox,
            TeamsSink(
                connector,
                self.conversations,
                ports.outbox,
                self.people.name,
                sink,
                target_gone=GoneTargets(ports, SURFACE),
            ),
            dispatch,
        )
        self._deliver = settings.deliver

    def session(self) -> aiohttp.ClientSession:
        """One HTTP session for key fetches, tokens and connector calls (opened by `start`)."""
        if self._session is None:
            raise RuntimeError("the Teams channel is not started")
        return self._session

    async def start(self, *, listen: bool = True) -> None:
        """Teams calls in over HTTP (`routes`): nothing to open for `listen`."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        if self._deliver:
            await self.dispatcher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/api/messages", self.messages, methods=["POST"])]

    async def messages(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _error(413, "payload_too_large", "the activity is too large")
        try:  # the token first: nothing an unauthenticated caller sends is parsed
            token = await self.auth.verify(request.headers.get("authorization"))
            try:
                inbound = parse_activity(json.loads(body))
            except (ValueError, RecursionError, BadActivity) as exc:  # JSONDecodeError is a ValueError
                if isinstance(exc, BadActivity):
                    return _error(400, "bad_request", str(exc))
                return _error(400, "malformed_json", "the activity is not valid JSON")
            token.admit(inbound.service_url, inbound.channel_id)
        except Unauthorized as exc:
            log.warning("Teams request refused: %s", exc, extra={"surface": SURFACE})
            return _error(401, "unauthorized", "unauthorized")
        if not inbound.aad_tenant_id:
            return _error(400, "bad_request", "the activity names no Azure AD tenant")
        if not self.people.allows(inbound.aad_tenant_id):
            return _error(403, "forbidden", "this tenant may not use the bot")
        tenant_id = await self.people.tenant(inbound.aad_tenant_id)
        await self.conversations.save(tenant_id, inbound.conversation)
        return await self._handle(inbound, tenant_id)

    async def _handle(self, inbound: Inbound, tenant_id: str) -> Response:
        if inbound.type == "message":
            await self.ingress.on_message(inbound, tenant_id)
        elif inbound.type == "invoke" and inbound.name == CARD_ACTION:
            return JSONResponse(await self.actions.on_card_action(inbound, tenant_id))
        return Response(status_code=200)


def _error(status: int, code: str, message: str) -> Response:
    """The API's error shape (channels/http.py): a stable `code`, a `message` for people."""
    return error_response(status, ErrorDetail(code=code, message=message))


class TeamsSurface:
    """Teams as the composition root registers it (`channels.surface.Surface`)."""

    name = SURFACE
    # Teams renders a subset of Markdown in a message; cards carry the buttons.
    response_profile = ResponseProfile(
        markup="Teams Markdown: **bold**, *italic*, [text](url) links, - lists; no headings",
        max_chars=4000,
        buttons=True,
        attachments=False,
        tables="no Markdown tables (Teams does not render them): a short list instead",
        code="fenced code blocks",
    )

    def enabled(self, settings: Settings) -> bool:
        return settings.teams.enabled

    def renderer(self, settings: Settings) -> TeamsRenderer:
        return teams_renderer(settings.teams)

    def notices(self) -> TeamsNoticeRenderer:
        return TeamsNoticeRenderer()

    def proactive_key(self, target: dict[str, Any], tag: str) -> str:
        return profile.proactive_key(target, tag)

    async def check_target(
        self, conversations: Conversations, tenant_id: str, target: dict[str, Any]
    ) -> dict[str, Any]:
        await proactive.check_target(conversations, tenant_id, target)
        return target

    def build(self, settings: Settings, deps: SurfaceDeps) -> TeamsChannel:
        return TeamsChannel(settings.teams, deps.runtime, deps.ports, deps.alerts, deps.conversations)
