"""The composition root: settings in, a wired service out. It wires; it does not decide."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import partial

from channels.surface import Channel, SurfaceDeps
from core.alerts.desk import AlertDesk
from core.bots import DEMO_MODEL, BotRegistry
from core.engine.context import ContextAssembler
from core.engine.failpoints import Failpoints
from core.engine.gate import GateOptions
from core.engine.notifier import RunNotifier
from core.engine.worker import StepWorker, WorkerOptions
from core.model.gateway import OpenAIGateway
from core.notices import NoticeRenderer
from core.outbound import OutboundRenderer
from core.ports import SurfacePorts, WorkerFaces
from core.queue.port import StepHandler, TaskQueue
from core.queue.sweeper import Sweeper
from core.runtime import Runtime
from core.schedules import disable_for_run
from core.scripted_model import Script, ScriptedModelServer
from core.settings import Settings
from core.store.alerts import AlertStore
from core.store.context import ContextStore
from core.store.knowledge import KnowledgeStore
from core.store.migrate import migrate
from core.tools.knowledge import bind_knowledge
from knowledge.kit import KnowledgeKit, build_kit
from scheduler.anomaly import KIND as ANOMALY
from scheduler.anomaly import anomaly_handler
from scheduler.anomaly.digest import AlertDigest
from scheduler.anomaly.narrator import DEMO_SCRIPT as NARRATION_SCRIPT
from scheduler.knowledge_sync import KIND as KNOWLEDGE_SYNC
from scheduler.knowledge_sync import KnowledgeSyncHandler
from scheduler.runner import Scheduler
from service import scale, surfaces
from service.scheduling import book_faces, build_scheduler

log = logging.getLogger(__name__)


@dataclass
class Service:
    settings: Settings
    store: ContextStore
    runtime: Runtime
    worker: StepWorker
    queue: TaskQueue  # in-process, or Celery when a broker is configured
    sweeper: Sweeper
    gateway: OpenAIGateway
    demo_model: ScriptedModelServer | None
    step: StepHandler | None = None  # what the queue calls to advance a run (a Celery worker calls it too)
    # The configured chat surfaces' channels by surface name, in `surfaces.SURFACES`' order.
    channels: dict[str, Channel] = field(default_factory=dict)
    scheduler: Scheduler | None = None  # fires schedules when started with schedule=True
    alerts: AlertStore | None = None  # alerts, with the surfaces' notice renderers (the API acts on them)
    knowledge: KnowledgeKit | None = None  # documents the bots search (knowledge/)

    # Conveniences (tests drive one surface): a surface's channel when it is configured.
    @property
    def slack(self) -> Channel | None:
        return self.channels.get("slack")

    @property
    def teams(self) -> Channel | None:
        return self.channels.get("teams")

    @property
    def discord(self) -> Channel | None:
        return self.channels.get("discord")

    def alert_desk(self) -> AlertDesk:
        """People's verbs on alerts for the API and the CLI, over the service's alert store (with
        every enabled surface's notice renderers); without one, cards cannot be changed."""
        alerts = self.alerts or AlertStore(self.store.db, self.store.clock, {})
        return AlertDesk(self.runtime, alerts, self.store.audit)

    @property
    def offline(self) -> bool:
        return self.demo_model is not None

    async def start(self, *, sweep: bool = True, schedule: bool = False, listen: bool = False) -> None:
        """`listen`: also open long-lived inbound connections (the Discord gateway): `serve` and
        `switchboard discord` do; workers and one-shot commands only deliver."""
        await self.queue.start()
        if schedule and self.scheduler is not None:
            await self.scheduler.start()
        if sweep:
            await self.sweeper.start()
        for channel in self.channels.values():
            await channel.start(listen=listen)

    async def stop(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        for channel in self.channels.values():
            await channel.stop()  # finishes the deliveries in hand while the store is open
        await self.sweeper.stop()
        await self.queue.stop()
        await self.gateway.aclose()
        if self.knowledge is not None:
            await self.knowledge.aclose()
        await self.store.close()
        if self.demo_model is not None:
            self.demo_model.stop()


def surface_ports(store: ContextStore) -> SurfacePorts:
    """What a chat surface may touch of the store besides the Runtime's verbs."""
    return SurfacePorts(store.directory, store.outbox, partial(disable_for_run, book_faces(store)))


def alert_desk(runtime: Runtime, store: ContextStore, surface: str, cards: NoticeRenderer) -> AlertDesk:
    """A surface's alert buttons: the desk over the alerts, redrawing their cards in its dialect."""
    return AlertDesk(runtime, AlertStore(store.db, store.clock, {surface: cards}), store.audit)


def chat_surfaces(settings: Settings, runtime: Runtime, store: ContextStore) -> dict[str, Channel]:
    """The channels of the chat surfaces that are configured, each given its ports and its alert desk."""
    ports = surface_ports(store)
    channels: dict[str, Channel] = {}
    for surface in surfaces.enabled(settings):
        alerts = alert_desk(runtime, store, surface.name, surface.notices())
        deps = SurfaceDeps(runtime, ports, alerts, store.conversations)
        channels[surface.name] = surface.build(settings, deps)
    return channels


def demo_script(bots: BotRegistry) -> Script:
    """Every bot's offline rules in one script: the demo model serves them all."""
    rules = list(Script.from_yaml(NARRATION_SCRIPT).rules)  # alert narrations: match their own prompt only
    default = None
    for bot in bots:
        if bot.demo_script is not None:
            script = Script.from_yaml(bot.demo_script)
            rules.extend(script.rules)
            default = default or script.default
    return Script(rules=tuple(rules), default=default) if default else Script(rules=tuple(rules))


def knowledge_sync(kit: KnowledgeKit, store: ContextStore, settings: Settings) -> KnowledgeSyncHandler:
    """Scheduled re-syncs of a namespace from a folder under the configured sync roots."""
    return KnowledgeSyncHandler(kit.store, kit.ingestor, store.audit, settings.knowledge.sync_roots)


async def build_service(settings: Settings, *, auto_migrate: bool = True) -> Service:
    renderers: dict[str, OutboundRenderer] = {
        s.name: s.renderer(settings) for s in surfaces.enabled(settings)
    }
    store = ContextStore.open(settings.database_url, renderers=renderers)
    if auto_migrate:
        await migrate(store.db)
    bots = BotRegistry.load(settings.bots)
    model_settings = settings.model_section()
    demo_model = None
    if model_settings.base_url is None:
        demo_model = ScriptedModelServer(
            demo_script(bots), token_latency_ms=model_settings.demo_token_ms
        ).start()
        model_settings = model_settings.model_copy(update={"base_url": demo_model.base_url})
        log.info("no model configured: using the offline demo model at %s", demo_model.base_url)
    else:
        bots = bots.with_models(model_settings.name, model_settings.bots)
        for bot in bots:
            if bot.model == DEMO_MODEL:
                log.warning(
                    "bot %s asks %s for the offline demo's model name; set SWITCHBOARD_MODEL__NAME "
                    "(or serve --model) to the endpoint's model",
                    bot.name,
                    model_settings.base_url,
                )
    key = model_settings.api_key.get_secret_value() if model_settings.api_key else None
    knowledge = build_kit(
        settings.knowledge, KnowledgeStore(store.db, store.clock), model_settings.base_url, key
    )
    # A bot's search_knowledge tool searches the service's knowledge, as the run's requester.
    bots = BotRegistry(replace(bot, tools=bind_knowledge(bot.tools, knowledge.retriever)) for bot in bots)
    gateway = OpenAIGateway(model_settings, guards=scale.model_guards(settings))
    notifier = RunNotifier()
    engine = settings.engine
    gate = GateOptions(settings.governance.approval_ttl_s, settings.governance.question_ttl_s)
    options = WorkerOptions(
        lease_s=engine.lease_s,
        history_messages=engine.history_messages,
        max_steps=engine.max_steps,
        steps_per_lease=engine.steps_per_lease,
        gate=gate,
        tool_breaker=scale.breaker_options(settings.resilience.tool_breaker),
    )
    worker = StepWorker(
        WorkerFaces(store.steps, store.schedules, store.directory, store.clock),
        bots,
        gateway,
        options,
        failpoints=Failpoints(engine.failpoint),
        notifier=notifier,
        # What the model is told of the surface, the user and the time (core/engine/context.py).
        context=ContextAssembler(
            store.directory, store.clock, {s.name: s.response_profile for s in surfaces.SURFACES}
        ),
    )
    admission = scale.admission(settings, store)
    step = worker.advance
    queue = scale.task_queue(settings, step)
    sweeper = Sweeper(store.runs, store.decisions, queue, store.clock, engine.sweep_interval_s)
    runtime = Runtime(
        store, bots, queue, notifier, max_message_chars=engine.max_message_chars, admission=admission
    )
    channels = chat_surfaces(settings, runtime, store)
    # How alerts look on each surface that is enabled.
    notices: dict[str, NoticeRenderer] = {s.name: s.notices() for s in surfaces.enabled(settings)}
    anomaly = anomaly_handler(
        store, gateway, bots, settings.anomaly, database_url=settings.database_url, notices=notices
    )
    return Service(
        settings,
        store,
        runtime,
        worker,
        queue,
        sweeper,
        gateway,
        demo_model,
        step,
        channels=channels,
        alerts=anomaly.alerts,
        knowledge=knowledge,
        scheduler=build_scheduler(
            settings.scheduler,
            runtime,
            store,
            handlers={ANOMALY: anomaly, KNOWLEDGE_SYNC: knowledge_sync(knowledge, store, settings)},
            sources={"alerts": AlertDigest(anomaly.alerts)},
        ),
    )
