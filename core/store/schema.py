"""Table definitions (SQLAlchemy Core). Alembic migrations in `core/store/migrations` mirror these.

Times are float seconds since the epoch: one representation on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

# SQLAlchemy's types, refusing what a driver would raise on (NUL, lone surrogates, overlong
# text, NaN, integer overflow) with InvalidInput. Every column below is one of these.
from core.store.columns import JSON, BigInteger, Float, Integer, String, Text

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = String(40)

# The conditions of the partial indexes on runs. Queries use them word for word: SQLite's
# planner only takes a partial index whose terms all appear in the query.
RUNNING_CONDITION = "status = 'running'"
# A queued run that admission holds: no owner, and asleep until `lease_expires_at`.
HELD_CONDITION = "status = 'queued' AND lease_owner IS NULL AND lease_expires_at IS NOT NULL"


def _tenant() -> Column[str]:
    return Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False)


tenants = Table(
    "tenants",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", Float, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("surface", String(40), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    UniqueConstraint("tenant_id", "surface", "external_id", name="uq_identities_external"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("surface", String(40), nullable=False),
    Column("thread_key", String(300), nullable=False),
    Column("bot", String(100), nullable=False),
    # The run that holds this session's turn: steps of two runs in one thread never interleave.
    Column("active_run_id", Id),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("tenant_id", "surface", "thread_key", name="uq_sessions_thread"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("session_id", Id, ForeignKey("sessions.id"), nullable=False),
    Column("run_id", Id),
    Column("user_id", Id),
    Column("role", String(20), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_messages_session", "session_id", "id"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("session_id", Id, ForeignKey("sessions.id"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("message_id", Id, nullable=False),
    Column("bot", String(100), nullable=False),
    # Copied from the session (immutable) so renderers can address replies without a join.
    Column("surface", String(40), nullable=False),
    Column("thread_key", String(300), nullable=False),
    Column("status", String(30), nullable=False),
    Column("step", Integer, nullable=False, default=0),
    Column("event_seq", Integer, nullable=False, default=0),
    Column("lease_owner", String(100)),
    Column("lease_expires_at", Float),
    Column("fence", BigInteger, nullable=False, default=0),
    # Lease acquisitions since the last committed step: a step that keeps killing workers dead-letters.
    Column("attempts", Integer, nullable=False, default=0),
    Column("idempotency_key", String(200)),
    Column("request_hash", String(64)),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("answer", Text),
    Column("error_code", String(60)),
    Column("error_message", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("tenant_id", "idempotency_key", name="uq_runs_idempotency"),
    Index("ix_runs_due", "status", "lease_expires_at"),
    # Admission (core/admission.py), on every start and every stop: a tenant's running runs, and
    # the runs it holds asleep until a slot frees. Partial, so each holds only the few rows it is
    # for: a full index led by tenant_id ties with the others led by it while the table has no
    # statistics, and PostgreSQL then counted through every run the tenant ever had.
    Index(
        "ix_runs_running",
        "tenant_id",
        "user_id",
        postgresql_where=text(RUNNING_CONDITION),
        sqlite_where=text(RUNNING_CONDITION),
    ),
    Index(
        "ix_runs_held",
        "tenant_id",
        postgresql_where=text(HELD_CONDITION),
        sqlite_where=text(HELD_CONDITION),
    ),
    Index("ix_runs_session", "session_id", "status"),
    Index("ix_runs_tenant", "tenant_id", "created_at"),
)

run_events = Table(
    "run_events",
    metadata,
    Column("run_id", Id, ForeignKey("runs.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    _tenant(),
    Column("type", String(60), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("run_id", "seq"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("run_id", Id, ForeignKey("runs.id"), nullable=False),
    Column("step", Integer, nullable=False),
    _tenant(),
    Column("state", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("run_id", "step"),
)

tool_invocations = Table(
    "tool_invocations",
    metadata,
    Column("idempotency_key", String(200), primary_key=True),
    _tenant(),
    Column("run_id", Id, ForeignKey("runs.id"), nullable=False),
    Column("tool", String(100), nullable=False),
    Column("args_hash", String(64), nullable=False),
    Column("args", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("result", JSON),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, default=1),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_tool_invocations_run", "run_id"),
)

inbound_events = Table(
    "inbound_events",
    metadata,
    Column("surface", String(40), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("tenant_id", Id, nullable=False),
    Column("received_at", Float, nullable=False),
    PrimaryKeyConstraint("surface", "event_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("surface", String(40), nullable=False),
    Column("run_id", Id),
    Column("dedupe_key", String(300), nullable=False, unique=True),
    Column("target", JSON, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("claimed_until", Float),
    Column("last_error", Text),
    Column("result", JSON),  # what the platform answered (e.g. a message id to update later)
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("run_id", Id),
    Column("actor_user_id", Id),
    Column("action", String(60), nullable=False),
    Column("tool", String(100)),
    Column("detail", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_audit_tenant_time", "tenant_id", "created_at"),
    Index("ix_audit_run", "run_id"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("run_id", Id, ForeignKey("runs.id"), nullable=False),
    Column("call_key", String(200), nullable=False),  # the tool call's idempotency key
    Column("tool", String(100), nullable=False),
    Column("args", JSON, nullable=False),  # exactly what will run if approved
    Column("args_hash", String(64), nullable=False),
    Column("tier", String(20), nullable=False),  # user | admin
    Column("requester_id", Id, nullable=False),
    Column("status", String(20), nullable=False),  # pending | approved | denied | expired | cancelled
    Column("decided_by", Id),
    Column("decided_at", Float),
    Column("reason", Text),
    Column("expires_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("run_id", "call_key", name="uq_approvals_call"),
    Index("ix_approvals_pending", "tenant_id", "status", "expires_at"),
)

questions = Table(
    "questions",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("run_id", Id, ForeignKey("runs.id"), nullable=False),
    Column("call_key", String(200), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("options", JSON, nullable=False),
    Column("allow_free_text", Integer, nullable=False, default=0),
    Column("asked_of", Id, nullable=False),  # the user who may answer
    Column("status", String(20), nullable=False),  # pending | answered | expired | cancelled
    Column("answer", Text),
    Column("answered_by", Id),
    Column("answered_at", Float),
    Column("expires_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("run_id", "call_key", name="uq_questions_call"),
    Index("ix_questions_pending", "tenant_id", "status", "expires_at"),
)

tenant_policies = Table(
    "tenant_policies",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("tool", String(100), nullable=False),
    Column("condition", JSON, nullable=False),  # {"arg": "amount", "op": ">", "value": 100} or {}
    Column("tier", String(20), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_tenant_policies_tool", "tenant_id", "tool"),
)

schedules = Table(
    "schedules",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("owner_id", Id, ForeignKey("users.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("bot", String(100), nullable=False),
    Column("kind", String(40), nullable=False),  # digest | anomaly | … : picks the fire handler
    Column("cron", String(200)),
    Column("interval_s", Integer),
    Column("timezone", String(64), nullable=False),
    Column("target", JSON, nullable=False),  # {"surface", "channel", "thread", "user"}
    Column("prompt", Text, nullable=False),
    Column("params", JSON, nullable=False),
    Column("enabled", Integer, nullable=False),
    Column("disabled_reason", Text),
    Column("misfire", String(20), nullable=False),  # skip | run_late
    Column("grace_s", Integer, nullable=False),
    # The newest fire time claimed (or skipped): the next fire is computed after it.
    Column("last_fire_at", Float),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_schedules_tenant", "tenant_id", "created_at"),
    Index("ix_schedules_enabled", "enabled"),
)

schedule_fires = Table(
    "schedule_fires",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("schedule_id", Id, ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False),
    Column("fire_at", Float, nullable=False),  # the nominal fire time
    Column("status", String(20), nullable=False),  # pending | done | skipped | failed
    Column("owner", String(100)),  # the scheduler process holding the claim
    Column("lease_until", Float, nullable=False),  # a pending fire past this is taken over
    Column("attempts", Integer, nullable=False),
    Column("run_id", Id),
    Column("error", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("schedule_id", "fire_at", name="uq_schedule_fires_once"),
    Index("ix_schedule_fires_due", "status", "lease_until"),
    Index("ix_schedule_fires_run", "run_id"),
)

teams_conversations = Table(  # the Teams surface's conversation references (for replies and proactive posts)
    "teams_conversations",
    metadata,
    _tenant(),
    Column("conversation_key", String(300), nullable=False),  # the session's thread key
    Column("conversation_id", Text, nullable=False),
    Column("service_url", String(500), nullable=False),
    Column("reply_to_id", String(200)),  # a channel thread's root message
    Column("reference", JSON, nullable=False),  # the Bot Framework ConversationReference
    Column("updated_at", Float, nullable=False),
    PrimaryKeyConstraint("tenant_id", "conversation_key"),
)

# Alerts raised by anomaly checks (migration 0004_alerts). See core/alerts/.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("check_id", Id, nullable=False),  # the schedule whose check raised it
    Column("incident_ts", Float, nullable=False),  # metric time of the point that opened it
    Column("owner_id", Id, nullable=False),
    Column("bot", String(100), nullable=False),
    Column("target", JSON, nullable=False),
    Column("title", String(200), nullable=False),
    Column("metric", String(200), nullable=False),
    Column("detector", String(200), nullable=False),
    Column("value", Float, nullable=False),
    Column("narration", Text, nullable=False),
    Column("status", String(20), nullable=False),  # open | acknowledged | silenced | resolved
    Column("notified", Integer, nullable=False, default=1),
    Column("acked_by", Id),
    Column("silenced_by", Id),
    Column("silenced_until", Float),
    Column("investigation_run_id", Id),
    Column("resolved_at", Float),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("tenant_id", "check_id", "incident_ts", name="uq_alerts_incident"),
    Index("ix_alerts_check", "tenant_id", "check_id", "status"),
)

# One row per anomaly check: where its hysteresis stands, advanced by compare-and-set on version.
alert_checks = Table(
    "alert_checks",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False),
    Column("check_id", Id, nullable=False),
    Column("state", JSON, nullable=False),
    Column("open_alert_id", Id),
    Column("version", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
    PrimaryKeyConstraint("tenant_id", "check_id"),
)

# The demo's metric source: a series per (tenant, name). A deployment points the anomaly checks'
# read-only connection at its own metrics database instead.
demo_metrics = Table(
    "demo_metrics",
    metadata,
    Column("tenant_id", Id, nullable=False),
    Column("name", String(200), nullable=False),
    Column("ts", Float, nullable=False),
    Column("value", Float, nullable=False),
    PrimaryKeyConstraint("tenant_id", "name", "ts"),
)

# --- knowledge (knowledge/): documents a bot can search, by tenant and namespace ----------------
# A namespace is tenant-wide, one channel's ("slack:C123") or one user's; an allow-list (rows in
# knowledge_acl: "user:<id>" or "group:<name>") narrows who may see it further. Searches filter on
# these in the statement itself, before ranking and LIMIT (core/store/knowledge.py).
knowledge_namespaces = Table(
    "knowledge_namespaces",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # tenant | channel | private
    Column("owner_id", Id),  # the user a private namespace belongs to
    Column("channel", String(300)),  # "<surface>:<channel id>" of a channel namespace
    Column("created_by", Id, nullable=False),
    Column("revision", Integer, nullable=False),  # bumped by each change to its chunks
    Column("created_at", Float, nullable=False),
    UniqueConstraint("tenant_id", "name", name="uq_knowledge_namespaces_name"),
)

knowledge_acl = Table(
    "knowledge_acl",
    metadata,
    Column("namespace_id", Id, ForeignKey("knowledge_namespaces.id"), nullable=False),
    Column("principal", String(200), nullable=False),  # "user:<id>" | "group:<name>"
    PrimaryKeyConstraint("namespace_id", "principal"),
)

knowledge_group_members = Table(
    "knowledge_group_members",
    metadata,
    _tenant(),
    Column("group_name", String(100), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    PrimaryKeyConstraint("tenant_id", "user_id", "group_name"),
)

knowledge_documents = Table(
    "knowledge_documents",
    metadata,
    Column("id", Id, primary_key=True),
    _tenant(),
    Column("namespace_id", Id, ForeignKey("knowledge_namespaces.id"), nullable=False),
    Column("source", String(1000), nullable=False),  # a path or URL, unique in its namespace
    Column("title", String(500), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("status", String(20), nullable=False),  # ready | failed
    Column("error", Text),  # why it failed, or why its vectors are missing (retried on sync)
    Column("chunk_count", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("namespace_id", "source", name="uq_knowledge_documents_source"),
)

knowledge_chunks = Table(
    "knowledge_chunks",
    metadata,
    # An integer key: SQLite's FTS5 index (knowledge_chunks_fts, made by the migration) is an
    # external-content table keyed by this rowid, kept in step by triggers.
    Column("id", Integer, primary_key=True, autoincrement=True),
    _tenant(),
    Column("namespace_id", Id, ForeignKey("knowledge_namespaces.id"), nullable=False),
    Column("document_id", Id, ForeignKey("knowledge_documents.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("title_path", String(1000), nullable=False),
    Column("text", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    # float32 little-endian bytes, with the model and dimension that made them; NULL: not yet.
    Column("embedding", LargeBinary),
    Column("embedding_model", String(200)),
    Column("dimension", Integer),
    # PostgreSQL's full-text vector of title_path and text (set on insert, GIN-indexed); unused
    # (NULL) on SQLite, whose FTS5 table indexes the same text.
    Column("search_vector", Text().with_variant(TSVECTOR(), "postgresql")),
    Index("ix_knowledge_chunks_scope", "tenant_id", "namespace_id"),
    Index("ix_knowledge_chunks_document", "document_id", "position"),
    # GIN over (tenant, tsvector) with PostgreSQL's btree_gin (migration 0007): a tenant's keyword
    # search reads its own matches only. On SQLite an unused btree; FTS5 indexes the text there.
    Index("ix_knowledge_chunks_search", "tenant_id", "search_vector", postgresql_using="gin"),
)
