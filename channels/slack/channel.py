"""The Slack surface, wired: the Bolt app behind `POST /slack/events` and the outbox dispatcher
that sends what the renderer recorded. The composition root builds one and starts it.

A request passes three gates before Bolt sees it, each answered in the API's error shape: its
size (413 once the declared or received bytes pass `MAX_BODY_BYTES`), Slack's signature (401),
and its body (400 when it is not JSON or a form holding JSON, 422 when its envelope is not what
Slack sends). Only then is anything parsed by the SDK or read from the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount

from channels.delivery import SinkOptions
from channels.http import ErrorDetail, error_response, public_error, read_body
from channels.slack import profile, setup
from channels.slack.actions import SlackActions
from channels.slack.alerts import SlackAlerts, SlackNoticeRenderer
from channels.slack.assistant import AssistantStatus
from channels.slack.identity import AdminPolicy, SlackDirectory
from channels.slack.ingress import Routing, SlackIngress
from channels.slack.payload import check_envelope, parse
from channels.slack.proactive import gone_targets
from channels.slack.profile import SlackProfile
from channels.slack.renderer import SlackRenderer
from channels.slack.signature import SlackSignature
from channels.slack.sink import SlackSink
from channels.surface import SurfaceDeps, channel_target
from core.alerts.desk import AlertDesk
from core.engine.context import ResponseProfile
from core.errors import InvalidInput, SwitchboardError
from core.outbox_dispatcher import DispatchOptions, OutboxDispatcher
from core.ports import Conversations, SurfacePorts
from core.runtime import Runtime
from core.settings import Settings, SlackSettings

log = logging.getLogger(__name__)

# Slack's own payloads are a few kilobytes; a modal's state is the largest, well under this.
MAX_BODY_BYTES = 1024 * 1024
_BOLT_STATUS_CODES = {401: "unauthorized", 404: "not_found"}
_WHERE = {"surface": "slack"}


def slack_renderer(settings: SlackSettings) -> SlackRenderer:
    """The renderer the store calls for runs on the "slack" surface."""
    return SlackRenderer(SlackProfile(admin_channel=settings.admin_channel))


class SlackChannel:
    def __init__(
        self,
        settings: SlackSettings,
        runtime: Runtime,
        ports: SurfacePorts,
        alerts: AlertDesk,
        *,
        dispatch: DispatchOptions | None = None,
        sink: SinkOptions | None = None,
    ) -> None:
        if settings.bot_token is None or settings.signing_secret is None:
            raise ValueError("Slack needs a bot token and a signing secret")
        self.client = AsyncWebClient(
            token=settings.bot_token.get_secret_value(),
            base_url=settings.api_base_url or AsyncWebClient.BASE_URL,
            timeout=10,
            retry_handlers=[],  # the outbox retries, with backoff and Retry-After
        )
        self.people = SlackDirectory(
            ports.identities, self.client, AdminPolicy(frozenset(settings.admins), settings.admin_user_group)
        )
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.signing_secret.get_secret_value(),
            # The handler records the message before Slack gets its 200: a failure means a 5xx
            # and a retry from Slack, never a message acknowledged and lost.
            process_before_response=True,
            request_verification_enabled=True,
            ignoring_self_events_enabled=True,
            attaching_function_token_enabled=False,  # no workflow functions, no assistant threads:
            attaching_conversation_kwargs_enabled=False,  # less work per request
        )
        routing = Routing(settings.default_bot, dict(settings.channel_bots), settings.ignore_bots)
        SlackIngress(runtime, self.people, ports.outbox, routing).register(self.app)
        SlackActions(runtime, self.people, ports.outbox).register(self.app)
        SlackAlerts(alerts, self.people, ports.outbox).register(self.app)
        self.dispatcher = OutboxDispatcher(
            ports.outbox,
            SlackSink(
                self.client,
                ports.outbox,
                self.people.mention,
                sink,
                target_gone=gone_targets(ports),
                assistant=AssistantStatus(self.client, enabled=settings.assistant_status),
            ),
            dispatch,
        )
        self._deliver = settings.deliver
        self._signature = SlackSignature(settings.signing_secret.get_secret_value())
        self._session: aiohttp.ClientSession | None = None

    async def start(self, *, listen: bool = True) -> None:
        """Slack calls in over HTTP (`routes`): nothing to open for `listen`."""
        # One HTTP session for every call (the SDK would open one per request otherwise).
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.client.timeout))
        self.client.session = self._session
        if self._deliver:
            await self.dispatcher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None
            self.client.session = None

    async def events(self, request: Request) -> Response:
        try:
            raw = await read_body(request, MAX_BODY_BYTES)
            self._signature.check(raw, request.headers)
            bolt_request = _bolt_request(raw, request)
        except SwitchboardError as exc:
            return _refuse(exc)
        if bolt_request is None:
            return Response(status_code=200)
        response = to_starlette_response(await self.app.async_dispatch(bolt_request))
        if response.status_code >= 400:  # Bolt's own refusals, in our shape
            code = _BOLT_STATUS_CODES.get(response.status_code, "internal")
            message = "no handler for this Slack request" if code == "not_found" else code
            return error_response(response.status_code, ErrorDetail(code=code, message=message))
        return response

    def asgi(self) -> Starlette:
        """The app to mount at `/slack`: events and interactivity share `POST /slack/events`."""
        return setup.slack_app(self.events)

    def routes(self) -> Sequence[BaseRoute]:
        return [Mount("/slack", app=self.asgi())]


class SlackSurface:
    """Slack as the composition root registers it (`channels.surface.Surface`)."""

    name = profile.SURFACE
    # Answers go out as mrkdwn in sections of 3,000 characters (longer ones are split).
    response_profile = ResponseProfile(
        markup="Slack mrkdwn: *bold*, _italic_, ~strike~, `code`, <https://url|text> links, "
        "bullets as lines starting with •; no headings and no **double asterisks**",
        max_chars=3000,
        buttons=True,
        attachments=False,
        tables="no tables: a short list, or a table inside a code block",
        code="``` blocks without a language tag",
    )

    def enabled(self, settings: Settings) -> bool:
        return settings.slack.enabled

    def renderer(self, settings: Settings) -> SlackRenderer:
        return slack_renderer(settings.slack)

    def notices(self) -> SlackNoticeRenderer:
        return SlackNoticeRenderer()

    def proactive_key(self, target: dict[str, Any], tag: str) -> str:
        return profile.proactive_key(target, tag)

    async def check_target(
        self, conversations: Conversations, tenant_id: str, target: dict[str, Any]
    ) -> dict[str, Any]:
        return channel_target(self.name, target)

    def build(self, settings: Settings, deps: SurfaceDeps) -> SlackChannel:
        return SlackChannel(settings.slack, deps.runtime, deps.ports, deps.alerts)

    def setup_routes(self, settings: Settings) -> Sequence[BaseRoute]:
        """While Slack is not configured, `POST /slack/events` answers Slack's URL check only
        (`setup.py`): Slack checks the URL before the secrets that enable the surface exist."""
        return [] if self.enabled(settings) else setup.setup_routes()


def _bolt_request(raw: bytes, request: Request) -> AsyncBoltRequest | None:
    """None for a signed event whose fields Bolt cannot read: it is acknowledged and ignored,
    since Slack's retries would carry the same fields."""
    text, body = parse(raw, request.headers.get("content-type"))
    check_envelope(body)
    try:
        return AsyncBoltRequest(body=text, query=dict(request.query_params), headers=dict(request.headers))
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        # Bolt reads ids out of the payload unguarded (`"id" in event["user"]`).
        if body.get("type") != "event_callback":
            raise InvalidInput(f"not a Slack payload ({type(exc).__name__})") from None
        log.warning("Slack event ignored: unexpected field types (%s)", type(exc).__name__, extra=_WHERE)
        return None


def _refuse(exc: SwitchboardError) -> Response:
    status, error = public_error(exc)
    log.info("Slack request refused: %d %s", status, error.code, extra=_WHERE)
    return error_response(status, error)
