"""Ports: the faces of the system of record that code outside the store receives, as Protocols.
The SQL store (core/store) implements them; the composition root hands each user the narrow one
it needs, so a tool, a check or a surface cannot reach the rest of the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from core.clock import Clock
from core.lifecycle import RunStatus
from core.outbound import OutboxItem
from core.records import (
    Approval,
    AuditEntry,
    AuditQuery,
    ChatMessage,
    ConversationReference,
    Decision,
    NewEvent,
    NewRun,
    Principal,
    Question,
    Role,
    Run,
    RunEvent,
    Submitted,
    ToolInvocation,
    User,
)
from core.schedule_records import Draft, Schedule, ScheduleFire, UnreadableSchedule
from core.steps import Acquired, Committed, Lease, RecordedCall, StepOutcome


class Schedules(Protocol):
    """Schedule management as one person (their tenant, their role): what the schedule tools get
    (`ToolContext.schedules`). `core.schedules.ScheduleBook` implements it."""

    async def requester(self, tenant_id: str, user_id: str) -> Principal:
        """The person a run acts for, with their current role."""
        ...

    async def create(self, who: Principal, draft: Draft, *, schedule_id: str = "") -> Schedule: ...

    async def list(self, who: Principal) -> list[Schedule]: ...

    async def pause(self, who: Principal, schedule_id: str) -> Schedule: ...

    async def resume(self, who: Principal, schedule_id: str) -> Schedule: ...

    async def delete(self, who: Principal, schedule_id: str) -> None: ...


class Identities(Protocol):
    """The directory's faces a surface's identity mapping uses: a workspace's tenant, a platform
    user's product user and role, and back. `core.store.directory.Directory` implements it."""

    async def tenant_exists(self, tenant_id: str) -> bool: ...

    async def create_tenant(self, name: str, *, tenant_id: str | None = None) -> str: ...

    async def resolve_identity(
        self, tenant_id: str, surface: str, external_id: str, *, display_name: str = ""
    ) -> User:
        """The product user behind a surface identity, created on first sight as a member."""
        ...

    async def set_role(self, tenant_id: str, user_id: str, role: Role) -> None: ...

    async def external_id(self, tenant_id: str, surface: str, user_id: str) -> str | None:
        """A product user's id on `surface`, if they came from there."""
        ...

    async def get_user(self, tenant_id: str, user_id: str) -> User: ...


class Outbox(Protocol):
    """Messages to surfaces, retried until delivered: what a surface queues (`put`) and what its
    dispatcher and sink do with them. `core.store.outbox.OutboxStore` implements it."""

    async def put(
        self,
        *,
        tenant_id: str,
        surface: str,
        dedupe_key: str,
        target: dict[str, Any],
        payload: dict[str, Any],
        run_id: str | None = None,
    ) -> bool:
        """Queue a message once per dedupe key. False when that key was queued before."""
        ...

    async def claim_due(
        self, surface: str, *, limit: int = 20, claim_s: float = 30.0
    ) -> list[OutboxItem]: ...

    async def delivered(self, item_id: str, result: dict[str, Any] | None = None) -> None: ...

    async def result(self, dedupe_key: str) -> dict[str, Any] | None:
        """What the delivery of the message under `dedupe_key` returned (a posted message's id)."""
        ...

    async def retry_later(
        self, item_id: str, *, delay_s: float, error: str, max_attempts: int = 50
    ) -> None: ...


class AuditLog(Protocol):
    """Who did what, appended. `core.store.audit.AuditStore` implements it."""

    async def record(self, tenant_id: str, action: str, **fields: Any) -> None: ...


# A scheduled run's target is gone: disable its schedule (tenant, run id, reason); the schedule
# when this call disabled it, None if the run was not scheduled or it was off already.
DisableSchedule = Callable[[str, str, str], Awaitable[Schedule | None]]


@dataclass(frozen=True)
class SurfacePorts:
    """What a chat surface may touch besides the Runtime's verbs; the composition root builds it."""

    identities: Identities
    outbox: Outbox
    disable_schedule: DisableSchedule


class Conversations(Protocol):
    """Where a surface's conversations live (Teams: the Bot Framework conversation reference),
    saved from authenticated activities and read to reply or post proactively. The context
    store's `conversations` implements it."""

    async def save(self, tenant_id: str, conversation: ConversationReference) -> None: ...

    async def get(self, tenant_id: str, key: str) -> ConversationReference | None: ...


@dataclass(frozen=True)
class SessionSummary:
    """A conversation as one user took part in it: their runs in it, newest last."""

    id: str
    bot: str  # of the user's latest run in it
    surface: str
    thread_key: str
    title: str  # the user's first message in it, cut short
    runs: int
    last_run_id: str  # also the page cursor: run ids sort by time
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Profile:
    user_id: str
    name: str
    role: Role
    tenant_id: str
    tenant_name: str


class SessionHistory(Protocol):
    """A user's own conversations and their messages, for the API's `/v1/sessions` and `/v1/me`.
    Every read is scoped by tenant and user in its query; another user's session is not found."""

    async def sessions(
        self, tenant_id: str, user_id: str, *, before: str | None = None, limit: int = 20
    ) -> list[SessionSummary]: ...

    async def session(self, tenant_id: str, user_id: str, session_id: str) -> SessionSummary: ...

    async def messages(
        self, tenant_id: str, user_id: str, session_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[ChatMessage]: ...

    async def profile(self, tenant_id: str, user_id: str) -> Profile: ...


# The store's faces the runtime, engine, governance and scheduler receive. Each Protocol below is one
# face of one store class, listing only what its users call; the bundles after them (`…Store`)
# say which faces a consumer gets, as read-only attributes, so the context store satisfies them
# and so does a frozen dataclass holding just those faces.


class DecisionReads(Protocol):
    """What the runtime reads and cancels of the decisions besides the desk's faces.
    `core.store.decisions.DecisionStore`."""

    async def approvals(
        self, tenant_id: str, *, status: str | None = ..., run_id: str | None = None, limit: int = 100
    ) -> list[Approval]: ...

    async def questions(self, tenant_id: str, *, run_id: str) -> list[Question]: ...

    async def cancel_for_run(self, tenant_id: str, run_id: str) -> None: ...


class StepFaces(Protocol):
    """A step's lease, its tool invocations and its commit. `core.store.steps.StepStore`."""

    async def acquire(
        self, run_id: str, owner: str, lease_s: float, max_attempts: int, history: int = 20
    ) -> Acquired: ...

    async def heartbeat(self, lease: Lease, lease_s: float) -> bool: ...

    async def claim_invocation(
        self, lease: Lease, key: str, call: RecordedCall, event: NewEvent
    ) -> ToolInvocation | None: ...

    async def record_retry(self, lease: Lease, key: str, event: NewEvent) -> None: ...

    async def abandon(self, lease: Lease) -> None: ...

    async def commit(self, lease: Lease, outcome: StepOutcome, keep_s: float | None = None) -> Committed: ...


class RunReads(Protocol):
    """One run, read by its tenant. `core.store.runs.RunStore`."""

    async def get(self, tenant_id: str, run_id: str) -> Run: ...


class RunFaces(RunReads, Protocol):
    """Runs submitted, read and moved by the runtime. `core.store.runs.RunStore`."""

    async def submit(self, new: NewRun) -> Submitted: ...

    async def has_session(self, tenant_id: str, surface: str, thread_key: str) -> bool: ...

    async def find(
        self,
        tenant_id: str,
        *,
        status: RunStatus | None = None,
        bot: str | None = None,
        user_id: str | None = None,
        limit: int = 50,
    ) -> list[Run]: ...

    async def events(
        self, tenant_id: str, run_id: str, *, after_seq: int = 0, limit: int = 500
    ) -> list[RunEvent]: ...

    async def message(self, tenant_id: str, message_id: str) -> ChatMessage: ...

    async def transition(
        self,
        tenant_id: str,
        run_id: str,
        target: RunStatus,
        events: Sequence[NewEvent],
        *,
        extra: dict[str, object] | None = None,
    ) -> tuple[Run, str | None]:
        """Move a run to `target`; returns it and the next run to nudge in its session."""
        ...


class DecisionFaces(Protocol):
    """Approvals, questions and reconciliation, decided compare-and-set; refusals audited.
    `core.store.decisions.DecisionStore`."""

    async def approval(self, tenant_id: str, approval_id: str) -> Approval: ...

    async def question(self, tenant_id: str, question_id: str) -> Question: ...

    async def decide_approval(self, tenant_id: str, approval_id: str, decision: Decision) -> Run: ...

    async def answer_question(self, tenant_id: str, question_id: str, decision: Decision) -> Run: ...

    async def reconcile(
        self, tenant_id: str, run_id: str, choice: str, actor: str, note: str | None
    ) -> Run: ...

    async def record_refusal(
        self, tenant_id: str, action: str, actor: str, run_id: str, detail: dict[str, Any]
    ) -> None: ...


class ScheduleFaces(Protocol):
    """The schedules and their fires. `core.store.schedules.ScheduleStore`."""

    async def create(self, schedule: Schedule, *, actor_user_id: str) -> Schedule: ...

    async def get(self, tenant_id: str, schedule_id: str) -> Schedule: ...

    async def find(
        self, tenant_id: str, *, owner_id: str | None = None, limit: int = 200
    ) -> list[Schedule]: ...

    async def set_enabled(
        self,
        tenant_id: str,
        schedule_id: str,
        enabled: bool,
        *,
        actor_user_id: str | None,
        reason: str | None = None,
    ) -> Schedule: ...

    async def delete(self, tenant_id: str, schedule_id: str, *, actor_user_id: str) -> None: ...

    async def fire_for_run(self, tenant_id: str, run_id: str) -> ScheduleFire | None: ...


class FireFaces(Protocol):
    """What the firing loop does with every tenant's schedules and their fires.
    `core.store.schedules.ScheduleStore`."""

    async def active(self) -> list[Schedule | UnreadableSchedule]: ...

    async def get(self, tenant_id: str, schedule_id: str) -> Schedule: ...

    async def claim(
        self, schedule: Schedule, fire_at: float, *, owner: str, lease_s: float
    ) -> ScheduleFire | None: ...

    async def skip(self, schedule: Schedule, fire_at: float, reason: str) -> bool: ...

    async def retake(self, *, owner: str, lease_s: float, limit: int = 50) -> list[ScheduleFire]: ...

    async def finish(
        self, fire: ScheduleFire, status: str, *, run_id: str | None = None, error: str | None = None
    ) -> bool: ...

    async def defer(self, fire: ScheduleFire, after_s: float, reason: str) -> bool: ...

    async def fires(self, tenant_id: str, schedule_id: str, *, limit: int = 100) -> list[ScheduleFire]: ...

    async def set_aside(self, tenant_id: str, schedule_id: str, reason: str) -> bool: ...

    async def attach_run(self, schedule: Schedule, fire_at: float, run_id: str) -> None:
        """Record the run a digest fire submitted."""
        ...


class Users(Protocol):
    """A product user by id. `core.store.directory.Directory`."""

    async def get_user(self, tenant_id: str, user_id: str) -> User: ...


class RuntimeDecisions(DecisionFaces, DecisionReads, Protocol):
    """The decision faces the runtime uses, its desk's included."""


class AuditFaces(AuditLog, Protocol):
    """The audit log appended and read. `core.store.audit.AuditStore`."""

    async def query(self, tenant_id: str, q: AuditQuery | None = None) -> list[AuditEntry]: ...


class Keys(Protocol):
    """Who an API key belongs to. `core.store.directory.Directory`."""

    async def authenticate(self, key: str) -> Principal: ...


class Liveness(Protocol):
    """Whether the system of record answers. `core.store.database.Database`."""

    async def ping(self, timeout_s: float = 3.0) -> None: ...


class Clocked(Protocol):
    """The store's clock: the faces read time from it, so a test can set it."""

    @property
    def clock(self) -> Clock: ...


class WorkerStore(Clocked, Protocol):
    """What `core.engine.worker.StepWorker` receives: the steps, the clock, and the faces of the
    schedule book it hands the schedule tools."""

    @property
    def steps(self) -> StepFaces: ...

    @property
    def schedules(self) -> ScheduleFaces: ...

    @property
    def directory(self) -> Users: ...


class RuntimeStore(Clocked, Protocol):
    """What `core.runtime.Runtime` receives (and hands its decision desk, a `DeskStore`)."""

    @property
    def runs(self) -> RunFaces: ...

    @property
    def decisions(self) -> RuntimeDecisions: ...

    @property
    def audit(self) -> AuditFaces: ...

    @property
    def directory(self) -> Keys: ...

    @property
    def db(self) -> Liveness: ...


class DeskStore(Clocked, Protocol):
    """What `core.governance.desk.DecisionDesk` receives."""

    @property
    def runs(self) -> RunReads: ...

    @property
    def decisions(self) -> DecisionFaces: ...


class BookStore(Clocked, Protocol):
    """What `core.schedules.ScheduleBook` (and disabling a scheduled run's schedule) receives."""

    @property
    def schedules(self) -> ScheduleFaces: ...

    @property
    def directory(self) -> Users: ...


class SchedulerStore(Clocked, Protocol):
    """What `scheduler.runner.Scheduler` receives: every tenant's schedules and fires, and the clock."""

    @property
    def schedules(self) -> FireFaces: ...


class DigestStore(Protocol):
    """What `scheduler.digest.DigestHandler` receives: the owner's role, and the fire's run recorded."""

    @property
    def schedules(self) -> FireFaces: ...

    @property
    def directory(self) -> Users: ...


# The bundles the composition root hands out: only the faces a consumer's Protocol names.


@dataclass(frozen=True)
class WorkerFaces:
    steps: StepFaces
    schedules: ScheduleFaces
    directory: Users
    clock: Clock


@dataclass(frozen=True)
class BookFaces:
    schedules: ScheduleFaces
    directory: Users
    clock: Clock


@dataclass(frozen=True)
class SchedulerFaces:
    """The firing loop's and the digest handler's faces (`SchedulerStore`, `DigestStore`)."""

    schedules: FireFaces
    directory: Users
    clock: Clock


# --- knowledge: what a search runs as, what it returns, and the store's read face for it -------


@dataclass(frozen=True)
class KnowledgeAudience:
    """Who a knowledge search runs as: the inputs of the access filter, which the store puts in
    the search statement itself. A proactive (scheduled) run sees tenant-wide namespaces only,
    and none with an allow-list."""

    tenant_id: str
    user_id: str
    channel: str | None = None  # "<surface>:<channel id>" of the conversation, if any
    proactive: bool = False


@dataclass(frozen=True)
class KnowledgeHit:
    """One retrieved chunk and its citation. `rank` is its place in the answer (1 is best):
    raw full-text scores span tenants and are never exposed."""

    rank: int
    namespace: str
    document_title: str
    source: str
    position: int
    title_path: str
    text: str


@dataclass(frozen=True)
class KnowledgeAnswer:
    hits: tuple[KnowledgeHit, ...]
    mode: str  # "hybrid" | "keyword"
    note: str | None = None  # why dense vectors were not used, when they were not


class KnowledgeSearch(Protocol):
    """What the search_knowledge tool gets: a search as the run's audience."""

    async def audience_of_run(self, tenant_id: str, run_id: str) -> KnowledgeAudience: ...

    async def search(
        self, audience: KnowledgeAudience, query: str, namespaces: Sequence[str] | None, limit: int
    ) -> KnowledgeAnswer: ...


class KnowledgeIndex(Protocol):
    """The store's read face for retrieval (core/store/knowledge.py): every call takes the
    audience and filters by it in SQL, before ranking and LIMIT."""

    async def audience_of_run(self, tenant_id: str, run_id: str) -> KnowledgeAudience: ...

    async def keyword_ranked(
        self, audience: KnowledgeAudience, namespaces: Sequence[str] | None, terms: Sequence[str], limit: int
    ) -> list[int]: ...

    async def vectors(
        self, audience: KnowledgeAudience, namespaces: Sequence[str] | None, model: str, dimension: int
    ) -> tuple[list[int], list[bytes]]: ...

    async def visible_revisions(
        self, audience: KnowledgeAudience, namespaces: Sequence[str] | None
    ) -> list[tuple[str, int]]: ...

    async def namespace_vectors(
        self, tenant_id: str, namespace_id: str, model: str, dimension: int
    ) -> tuple[list[int], list[bytes]]: ...

    async def hits(self, audience: KnowledgeAudience, chunk_ids: Sequence[int]) -> list[KnowledgeHit]: ...
