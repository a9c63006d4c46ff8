"""The step path's SQL, built once and executed with parameters (see `core.store.sql` for why).

Bind parameter names start with `b_`: SQLAlchemy reserves column names for VALUES clauses.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Float,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from core.lifecycle import RunStatus
from core.store.schema import (
    approvals,
    checkpoints,
    messages,
    questions,
    run_events,
    runs,
    sessions,
    tenant_policies,
    tool_invocations,
)

_p = bindparam
_RUNNING = RunStatus.RUNNING.value
_QUEUED = RunStatus.QUEUED.value

# The run row, locked for the lease decision.
LOCK_RUN = select(runs).where(runs.c.id == _p("b_run")).with_for_update()
_running = runs.alias("running")
_RUNNING_IN_TENANT = (_running.c.status == _RUNNING, _running.c.tenant_id == runs.c.tenant_id)
# With the admission limits' first look: its tenant's and its user's running runs (core/admission.py).
LOCK_RUN_COUNTED = (
    select(
        runs,
        select(func.count()).where(*_RUNNING_IN_TENANT).scalar_subquery().label("running_in_tenant"),
        select(func.count())
        .where(*_RUNNING_IN_TENANT, _running.c.user_id == runs.c.user_id)
        .scalar_subquery()
        .label("running_for_user"),
    )
    .where(runs.c.id == _p("b_run"))
    .with_for_update(of=runs)
)

# Every write after the lease holds only under the same fence, owner and unexpired lease.
_FENCED = (
    runs.c.id == _p("b_run"),
    runs.c.fence == _p("b_fence"),
    runs.c.lease_owner == _p("b_owner"),
    runs.c.lease_expires_at >= _p("b_now", type_=Float),
    runs.c.status == _RUNNING,
)
_EVENTS = runs.c.event_seq + _p("b_events", type_=Integer)

TAKE_LEASE = (
    update(runs)
    .where(runs.c.id == _p("b_run"))
    .values(
        fence=runs.c.fence + 1,
        attempts=runs.c.attempts + 1,
        status=_RUNNING,
        lease_owner=_p("b_owner"),
        lease_expires_at=_p("b_expires", type_=Float),
        event_seq=_EVENTS,
        updated_at=_p("b_now", type_=Float),
    )
    .returning(*runs.c)
)

TOUCH = update(runs).where(*_FENCED).values(event_seq=_EVENTS, updated_at=_p("b_now")).returning(*runs.c)

HEARTBEAT = update(runs).where(*_FENCED).values(lease_expires_at=_p("b_expires", type_=Float))

_COMMITTED = dict(
    status=_p("b_status", type_=String),
    step=runs.c.step + 1,
    prompt_tokens=runs.c.prompt_tokens + _p("b_prompt_tokens", type_=Integer),
    completion_tokens=runs.c.completion_tokens + _p("b_completion_tokens", type_=Integer),
    cost_usd=runs.c.cost_usd + _p("b_cost", type_=Float),
    answer=func.coalesce(_p("b_answer", type_=Text), runs.c.answer),
    error_code=func.coalesce(_p("b_error_code", type_=String), runs.c.error_code),
    error_message=func.coalesce(_p("b_error_message", type_=Text), runs.c.error_message),
    event_seq=_EVENTS,
    updated_at=_p("b_now"),
)
# A step's commit that gives the lease back.
COMMIT = (
    update(runs)
    .where(*_FENCED)
    .values(**_COMMITTED, lease_owner=None, lease_expires_at=None, attempts=0)
    .returning(*runs.c)
)
# A step's commit that keeps the lease for the run's next step: same owner and fence, a fresh
# expiry, and that next step counts as the lease's first attempt.
COMMIT_KEEP = (
    update(runs)
    .where(*_FENCED)
    .values(**_COMMITTED, lease_expires_at=_p("b_expires", type_=Float), attempts=1)
    .returning(*runs.c)
)

CHECKPOINT = select(checkpoints.c.state).where(
    checkpoints.c.run_id == _p("b_run"), checkpoints.c.step == _p("b_step")
)
MESSAGE = select(messages).where(messages.c.tenant_id == _p("b_tenant"), messages.c.id == _p("b_id"))
_SESSION_MESSAGES = (messages.c.tenant_id == _p("b_tenant"), messages.c.session_id == _p("b_session"))
WINDOW = (
    select(messages)
    .where(*_SESSION_MESSAGES, messages.c.id < _p("b_before"))
    .order_by(messages.c.id.desc())
    .limit(_p("b_limit", type_=Integer))
)
# A run's opening message and the window before it, newest first, in one trip (limit: window + 1).
OPENING_AND_WINDOW = (
    select(messages)
    .where(*_SESSION_MESSAGES, messages.c.id <= _p("b_before"))
    .order_by(messages.c.id.desc())
    .limit(_p("b_limit", type_=Integer))
)

_older = runs.alias("older")
CLAIM_TURN = (
    update(sessions)
    .where(
        sessions.c.id == _p("b_session"),
        or_(sessions.c.active_run_id.is_(None), sessions.c.active_run_id == _p("b_run")),
        ~exists().where(
            and_(
                _older.c.session_id == _p("b_session"), _older.c.status == _QUEUED, _older.c.id < _p("b_run")
            )
        ),
    )
    .values(active_run_id=_p("b_run"))
)
NEXT_QUEUED = (
    select(runs.c.id)
    .where(runs.c.session_id == _p("b_session"), runs.c.status == _QUEUED)
    .order_by(runs.c.id)
    .limit(1)
)
# Gives the turn up and names the next queued run in one trip; no row when the run did not hold it.
RELEASE_TURN = (
    update(sessions)
    .where(sessions.c.id == _p("b_session"), sessions.c.active_run_id == _p("b_run"))
    .values(active_run_id=None)
    .returning(NEXT_QUEUED.scalar_subquery())
)

SESSION_ID = select(sessions.c.id).where(
    sessions.c.tenant_id == _p("b_tenant"),
    sessions.c.surface == _p("b_surface"),
    sessions.c.thread_key == _p("b_thread"),
)

INVOCATION = select(tool_invocations).where(
    tool_invocations.c.tenant_id == _p("b_tenant"), tool_invocations.c.idempotency_key == _p("b_key")
)
UPDATE_INVOCATION = (
    update(tool_invocations)
    .where(tool_invocations.c.idempotency_key == _p("b_key"))
    .values(
        status=_p("b_status", type_=String),
        result=_p("b_result", type_=JSON),
        error=_p("b_error", type_=Text),
        updated_at=_p("b_now", type_=Float),
    )
)

# What the approval gate needs about a pending call, read in the lease's transaction.
RULES = (
    select(tenant_policies)
    .where(tenant_policies.c.tenant_id == _p("b_tenant"), tenant_policies.c.tool == _p("b_tool"))
    .order_by(tenant_policies.c.id)
)
APPROVAL_FOR_CALL = select(approvals).where(
    approvals.c.run_id == _p("b_run"), approvals.c.call_key == _p("b_key")
)
QUESTION_FOR_CALL = select(questions).where(
    questions.c.run_id == _p("b_run"), questions.c.call_key == _p("b_key")
)

INSERT_EVENTS = insert(run_events)
INSERT_CHECKPOINT = insert(checkpoints)
INSERT_MESSAGE = insert(messages)
INSERT_RUN = insert(runs)
