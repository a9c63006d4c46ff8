"""One settings object, read from the environment once at the composition root.

Each package receives its own section; nothing else reads `os.environ`.
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Price(BaseModel):
    """US dollars per million tokens."""

    prompt: float = 0.0
    completion: float = 0.0


class ModelSettings(BaseModel):
    base_url: str | None = None
    # The model every bot uses on a configured endpoint (SWITCHBOARD_MODEL__NAME), and per-bot
    # overrides (SWITCHBOARD_MODEL__BOTS='{"ops": "gpt-4o"}'). The offline demo ignores both.
    name: str | None = None
    bots: dict[str, str] = Field(default_factory=dict)
    api_key: SecretStr | None = None
    timeout_s: float = 60.0
    max_retries: int = 3
    # Stream completions (SSE) when a reader watches the run, so text reaches it as it is made.
    # Off for an endpoint that cannot stream: every call is then one JSON reply, as before.
    stream: bool = True
    # The offline demo model's pause between streamed words, in ms (SWITCHBOARD_MODEL__DEMO_TOKEN_MS):
    # 20 shows an answer being written; 0 sends it at once.
    demo_token_ms: float = Field(default=0.0, ge=0, le=1000)
    prices: dict[str, Price] = Field(default_factory=dict)


class EngineSettings(BaseModel):
    lease_s: float = 30.0
    # Steps `serve`'s in-process worker drives at once. A step mostly waits on the model, so this
    # follows the cores rather than a small fixed number: None is 32 per core (64 on 2 cores:
    # 12 → 56 runs/s at 300 ms per model call, issue 18). Admission limits still bound each
    # tenant and user; Celery workers have `queue.concurrency` instead.
    workers: int | None = Field(default=None, ge=1, le=4096)
    sweep_interval_s: float = 2.0
    history_messages: int = 20
    max_steps: int = 40
    # Steps of one run a worker takes in a row under one lease (each committed) before the run
    # queues again behind others: fewer lease round trips and deliveries per run.
    steps_per_lease: int = 8
    max_message_chars: int = 16_000
    # Test-only: "name" or "name:N" kills the process with SIGKILL at the Nth hit of that failpoint.
    failpoint: str | None = None


class GovernanceSettings(BaseModel):
    approval_ttl_s: float = 24 * 3600
    question_ttl_s: float = 24 * 3600


class SheddingSettings(BaseModel):
    """How many API requests one process handles at once before it refuses more (429)."""

    # 16/8/50 ms rather than 32/16/100 ms: under serve_load's 300 clients on 2 cores, submission
    # p99 248 against 265-315 ms on SQLite (more polls refused, more runs done).
    requests: int = 16  # API requests handled at once
    reads: int = 8  # of which reads (GET) at most: the other turns are kept for writes
    waiting: int = 64  # requests waiting for a turn, beyond which more are refused at once
    max_wait_s: float = 0.05  # a request that waited this long for a turn is refused
    retry_after_s: int = 1


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 64 * 1024
    shedding: SheddingSettings = Field(default_factory=SheddingSettings)


class SlackSettings(BaseModel):
    """One Slack workspace (single-workspace install); enabled when both secrets are set."""

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    api_base_url: str | None = None  # the Web API's base URL, e.g. a proxy or a local stand-in
    default_bot: str = "support"
    channel_bots: dict[str, str] = Field(default_factory=dict)  # channel id -> bot name
    admins: list[str] = Field(default_factory=list)  # Slack user ids (U…) who are admins
    admin_user_group: str | None = None  # a user group id (S…) whose members are admins
    admin_channel: str | None = None  # admin-tier approval cards are posted here too
    ignore_bots: bool = True  # other bots' messages; our own are always ignored
    deliver: bool = True  # send the outbox from this process (off on ingress-only processes)
    assistant_status: bool = True  # Slack's assistant thread status in DMs, where the app has it

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None and self.signing_secret is not None


class DiscordSettings(BaseModel):
    """One Discord application (bot user), in any number of guilds; enabled when a token is set."""

    token: SecretStr | None = None  # the bot token (Developer Portal → Bot → Token)
    api_base_url: str | None = None  # REST base with its version, e.g. a proxy or a local stand-in
    gateway_url: str | None = None  # the gateway's wss:// URL, e.g. a local stand-in
    default_bot: str = "support"
    channel_bots: dict[str, str] = Field(default_factory=dict)  # channel id -> bot name
    admins: list[str] = Field(default_factory=list)  # Discord user ids (snowflakes) who are admins
    admin_role: str | None = None  # a role id whose members are admins (in that role's guild)
    dm_guild: str | None = None  # DMs belong to this guild's tenant; without it DMs are not taken
    follow_ups: bool = True  # unmentioned replies in a conversation's thread (needs Message Content intent)
    deliver: bool = True  # send the outbox from this process (off on ingress-only processes)

    @property
    def enabled(self) -> bool:
        return self.token is not None


class TeamsSettings(BaseModel):
    """One Microsoft Teams bot (an Azure Bot registration); enabled when its app id is set and it
    has a password, or anonymous development access is switched on explicitly."""

    app_id: str | None = None  # the Microsoft App ID: the audience of Bot Framework tokens
    app_password: SecretStr | None = None  # the client secret used to get outbound tokens
    app_tenant_id: str | None = None  # a single-tenant bot's home tenant (its token endpoint)
    allowed_tenants: list[str] = Field(default_factory=list)  # Azure AD tenant ids; empty: any
    openid_metadata_url: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"
    token_endpoint: str | None = (
        None  # default: login.microsoftonline.com for botframework.com or app_tenant_id
    )
    allow_anonymous: bool = False  # development only: accept activities without a Bot Framework token
    admins: list[str] = Field(default_factory=list)  # Azure AD object ids of admins
    default_bot: str = "support"
    deliver: bool = True  # send the outbox from this process (off on ingress-only processes)

    @property
    def enabled(self) -> bool:
        return (self.app_id is not None and self.app_password is not None) or self.allow_anonymous


class AnomalySettings(BaseModel):
    """Anomaly checks: where their metrics come from and how much one fetch may take. Schedules
    name a query or an allowed URL; they never carry SQL of their own."""

    metrics_database_url: str | None = None  # read-only connection for SQL sources; default: database_url
    queries: dict[str, str] = Field(default_factory=dict)  # name -> SQL with :tenant_id, :limit, …
    http_allowed_prefixes: list[str] = Field(default_factory=list)  # URLs HTTP JSON sources may fetch
    max_rows: int = 5000
    timeout_s: float = 5.0
    max_response_bytes: int = 1_000_000
    narration_timeout_s: float = 20.0
    demo_channel: str = "C0DEMO"  # the Slack channel the offline demo's alert is posted to


class QueueSettings(BaseModel):
    """The Celery queue, used when `broker_url` is set."""

    name: str = "switchboard"
    concurrency: int = 32  # steps one worker process drives at once (Celery threads feeding one event loop)
    visibility_timeout_s: float = (
        3600.0  # longer than any step; recovery is the sweeper's job, within the lease
    )
    nudge_ttl_s: float = 60.0  # a pending nudge for a run suppresses duplicate nudges this long
    metrics_port: int | None = None  # a worker's own /metrics (bound to api.host)
    # A worker process lowers its CPU priority by this much (nice): on a box it shares with the
    # API, requests are answered first and steps take the rest (ingress p99 69 → 30 ms measured).
    worker_nice: int = 10
    # Test-only: publish every nudge this many times, to prove duplicates are harmless.
    duplicate_deliveries: int = 1


class AdmissionSettings(BaseModel):
    """Backpressure. Soft limits queue a run behind others; the hard cap refuses it. None: no limit."""

    max_active_runs_per_user: int | None = 20
    max_active_runs_per_tenant: int | None = 500
    busy_queue_depth: int = 200  # from this many runs waiting to start, a new run is told its place in line
    max_queue_depth: int | None = 20_000  # active runs in all tenants; beyond it submissions are refused
    hold_s: float = 2.0  # a run held by a limit is looked at again after this long, if nothing wakes it first
    retry_after_s: int = 10


class SchedulerSettings(BaseModel):
    """The scheduler (`switchboard scheduler`, or inside `serve` when `embedded`). Several may run:
    each fire is claimed once in the store."""

    embedded: bool = True  # run the scheduler inside `serve` (the single-process default)
    tick_s: float = 1.0  # how often due schedules are looked at
    lease_s: float = 60.0  # a claimed fire whose scheduler died is taken over after this long
    jitter_s: float = 30.0  # fires due at the same minute spread over this window (per schedule, fixed)
    max_fires_per_tick: int = 50  # the rest wait for the next tick: a burst is spread, not a stampede
    on_time_s: float = 120.0  # a fire noticed later than this after its time is a misfire
    digest_window_s: float = 86_400.0  # a digest reports on this much history before its fire time


class BreakerSettings(BaseModel):
    failures: int = 5  # failures within window_s that open the breaker
    window_s: float = 30.0
    open_s: float = 15.0  # then one probe is let through
    max_wait_s: float = 30.0  # how long a model call waits for an open breaker before the run fails


class RateLimitSettings(BaseModel):
    """Per model provider (base URL), shared by every worker through Redis when one is configured."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_wait_s: float = 60.0


class ResilienceSettings(BaseModel):
    redis_url: str | None = None  # for the shared rate limiter; defaults to a redis:// broker_url
    model_breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    tool_breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    model_rate: RateLimitSettings = Field(default_factory=RateLimitSettings)


class KnowledgeSettings(BaseModel):
    """Knowledge (knowledge/): the embeddings endpoint, any OpenAI-compatible `/v1/embeddings`.
    With no base URL the model endpoint is used (the offline demo's serves scripted vectors);
    `keyword_only` turns dense vectors off, and search says it is keyword-only."""

    embeddings_base_url: str | None = None
    embeddings_model: str = "text-embedding-3-small"
    embeddings_api_key: SecretStr | None = None
    # The vectors' expected dimension; an endpoint answering another is refused (None: any).
    embeddings_dimension: int | None = Field(default=None, ge=1, le=16384)
    keyword_only: bool = False
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    # Ingest Switchboard's own docs as the demo tenant's "switchboard-docs" namespace at `serve`.
    demo_docs: bool = True
    # Server-side folders a `knowledge_sync` schedule may read, as absolute paths (resolved with
    # realpath; nothing outside them, even through a symlink). Empty: no server-side sync.
    sync_roots: list[str] = Field(default_factory=list)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", env_nested_delimiter="__", extra="ignore")

    database_url: str = "sqlite:///./switchboard.db"
    broker_url: str | None = None
    bots: list[str] = Field(default_factory=lambda: ["bots.support:bot", "bots.ops:bot"])
    model: ModelSettings = Field(default_factory=ModelSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    governance: GovernanceSettings = Field(default_factory=GovernanceSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    teams: TeamsSettings = Field(default_factory=TeamsSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    admission: AdmissionSettings = Field(default_factory=AdmissionSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    resilience: ResilienceSettings = Field(default_factory=ResilienceSettings)
    anomaly: AnomalySettings = Field(default_factory=AnomalySettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "SWITCHBOARD_OPENAI_BASE_URL")
    )
    # The CLI acts as the holder of this key; without one it uses the demo customer, if seeded.
    api_key: SecretStr | None = None
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "SWITCHBOARD_OPENAI_API_KEY")
    )

    def model_section(self) -> ModelSettings:
        """The model section with the OpenAI-standard variables folded in."""
        section = self.model.model_copy()
        if section.base_url is None:
            section.base_url = self.openai_base_url
        if section.api_key is None:
            section.api_key = self.openai_api_key
        return section
