"""The Slack surface, wired: the Bolt app behind `POST /slack/events` and the outbox dispatcher
that sends what the renderer recorded. The composition root builds one and starts it."""

from __future__ import annotations

import logging

import aiohttp
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.delivery import SinkOptions
from channels.slack.actions import SlackActions
from channels.slack.alerts import SlackAlerts
from channels.slack.assistant import AssistantStatus
from channels.slack.identity import AdminPolicy, SlackDirectory
from channels.slack.ingress import Routing, SlackIngress
from channels.slack.proactive import gone_targets
from channels.slack.profile import SlackProfile
from channels.slack.renderer import SlackRenderer
from channels.slack.sink import SlackSink
from core.outbox_dispatcher import DispatchOptions, OutboxDispatcher
from core.runtime import Runtime
from core.settings import SlackSettings

log = logging.getLogger(__name__)


def slack_renderer(settings: SlackSettings) -> SlackRenderer:
    """The renderer the store calls for runs on the "slack" surface."""
    return SlackRenderer(SlackProfile(admin_channel=settings.admin_channel))


class SlackChannel:
    def __init__(
        self,
        settings: SlackSettings,
        runtime: Runtime,
        *,
        dispatch: DispatchOptions | None = None,
        sink: SinkOptions | None = None,
    ) -> None:
        if settings.bot_token is None or settings.signing_secret is None:
            raise ValueError("Slack needs a bot token and a signing secret")
        store = runtime.store
        self.client = AsyncWebClient(
            token=settings.bot_token.get_secret_value(),
            base_url=settings.api_base_url or AsyncWebClient.BASE_URL,
            timeout=10,
            retry_handlers=[],  # the outbox retries, with backoff and Retry-After
        )
        self.people = SlackDirectory(
            store, self.client, AdminPolicy(frozenset(settings.admins), settings.admin_user_group)
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
        SlackIngress(runtime, self.people, store.outbox, routing).register(self.app)
        SlackActions(runtime, self.people, store.outbox).register(self.app)
        SlackAlerts(runtime, self.people, store.outbox).register(self.app)
        self.dispatcher = OutboxDispatcher(
            store.outbox,
            SlackSink(
                self.client,
                store.outbox,
                self.people.mention,
                sink,
                target_gone=gone_targets(store),
                assistant=AssistantStatus(self.client, enabled=settings.assistant_status),
            ),
            dispatch,
        )
        self._deliver = settings.deliver
        self._handler = AsyncSlackRequestHandler(self.app)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
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
        return await self._handler.handle(request)

    def asgi(self) -> Starlette:
        """The app to mount at `/slack`: events and interactivity share `POST /slack/events`."""
        return Starlette(routes=[Route("/events", self.events, methods=["POST"])])
