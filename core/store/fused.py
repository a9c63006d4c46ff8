"""A step's commit, and a lease with its inputs, each as one statement on PostgreSQL: data-modifying
CTEs hung off the run's UPDATE.

On SQLite (no data-modifying CTEs) `core.store.steps` issues the same writes one by one. Here the
run's UPDATE … RETURNING is the CTE `r`, and every other write of the commit reads `r`: when the
fence does not hold, `r` is empty, no other write produces a row, and the caller raises
`StaleLease` (and rolls the transaction back) exactly as before. One round trip and one statement
instead of four or five per step; the transaction, the fence and what is written are unchanged.

Rows of variable count (events, audit entries) travel as one JSON array each, so the statement's
shape, and with it SQLAlchemy's compiled cache entry and PostgreSQL's plan, stays fixed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    String,
    Text,
    bindparam,
    column,
    exists,
    func,
    literal,
    null,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql import Select

from core.store import statements as sql
from core.store.admission import WAKE_HELD
from core.store.columns import JSON
from core.store.schema import (
    audit_log,
    checkpoints,
    messages,
    run_events,
    runs,
    sessions,
    tenant_policies,
    tool_invocations,
)

_p = bindparam
_ROW = column("value", postgresql.JSON)


@dataclass(frozen=True)
class Shape:
    """What a commit writes besides the run, events and checkpoint: one cached statement each."""

    keep: bool  # the lease is kept for the run's next step
    answer: bool  # an assistant message is written
    invocation: str | None  # "upsert": a call's whole row; "update": an intent's outcome; None
    audit: bool
    release: bool  # the run stopped running: give the session's turn up, name the next queued run
    wake: bool = False  # with `release`: wake held runs of its tenant (`b_wake` of them), as `rules`
    rules: bool = False  # with `keep`: the tenant's policy rules for the next pending call (`b_tool`)


def _rows(name: str) -> Any:
    """The elements of a bound JSON array, numbered from 1."""
    return (
        func.json_array_elements(_p(name, type_=JSON))
        .table_valued(_ROW, with_ordinality="ord")
        .render_derived(name)
    )


def _events(r: Any) -> Any:
    """The run's new events (`b_event_rows`: type and payload each), numbered from the sequence
    numbers its UPDATE allocated (its last `b_events`)."""
    ev = _rows("b_event_rows")
    return (
        run_events.insert()
        .from_select(
            ["run_id", "seq", "tenant_id", "type", "payload", "created_at"],
            select(
                r.c.id,
                r.c.event_seq - _p("b_events", type_=Integer) + ev.c.ord,
                r.c.tenant_id,
                ev.c.value["type"].astext,
                ev.c.value["payload"],
                _p("b_now", type_=Float),
            )
            .select_from(r)
            .join(ev, true()),
        )
        .cte("ev")
    )


@functools.cache
def take_lease(claim_turn: bool, window: bool) -> Select[Any]:
    """`statements.TAKE_LEASE` with its events; with `claim_turn`, only if the run takes its
    session's turn (`statements.CLAIM_TURN`), else nothing is written and no row comes back. With
    `window`, the run's opening message and the window before it (`OPENING_AND_WINDOW`, newest
    first) come back as the JSON column `window`."""
    lease = sql.TAKE_LEASE
    ctes = []
    if claim_turn:
        turn = sql.CLAIM_TURN.returning(sessions.c.id).cte("turn")
        lease = lease.where(exists(select(turn.c.id)))
    r = lease.cte("r")
    ctes.append(_events(r))
    columns: list[Any] = [r]
    if window:
        w = sql.OPENING_AND_WINDOW.subquery("w")
        rows = select(func.json_agg(aggregate_order_by(w.table_valued(), w.c.id.desc()))).scalar_subquery()
        columns.append(type_coerce(rows, JSON).label("window"))
    return select(*columns).add_cte(*ctes)


@functools.cache
def commit(shape: Shape) -> Select[Any]:
    r = (sql.COMMIT_KEEP if shape.keep else sql.COMMIT).cte("r")
    ctes = [_events(r)]
    ctes.append(
        checkpoints.insert()
        .from_select(
            ["run_id", "step", "tenant_id", "state", "created_at"],
            select(r.c.id, r.c.step, r.c.tenant_id, _p("b_state", type_=JSON), _p("b_now", type_=Float)),
        )
        .cte("cp")
    )
    if shape.answer:
        ctes.append(
            messages.insert()
            .from_select(
                ["id", "tenant_id", "session_id", "run_id", "user_id", "role", "content", "created_at"],
                select(
                    _p("b_message_id", type_=String),
                    r.c.tenant_id,
                    r.c.session_id,
                    r.c.id,
                    null(),
                    literal("assistant"),
                    r.c.answer,
                    _p("b_now", type_=Float),
                ),
            )
            .cte("msg")
        )
    if shape.audit:
        au = _rows("b_audit_rows")
        ctes.append(
            audit_log.insert()
            .from_select(
                ["id", "tenant_id", "run_id", "actor_user_id", "action", "tool", "detail", "created_at"],
                select(
                    au.c.value["id"].astext,
                    r.c.tenant_id,
                    r.c.id,
                    au.c.value["actor_user_id"].astext,
                    au.c.value["action"].astext,
                    au.c.value["tool"].astext,
                    au.c.value["detail"],
                    _p("b_now", type_=Float),
                )
                .select_from(r)
                .join(au, true()),
            )
            .cte("au")
        )
    if shape.invocation is not None:
        ctes.append(_invocation(r, shape.invocation).cte("inv"))
    if shape.release:
        ctes.append(
            update(sessions)
            .where(sessions.c.id == _p("b_session"), sessions.c.active_run_id == _p("b_run"))
            .values(active_run_id=None)
            .cte("rt")
        )
    columns: list[Any] = [r]
    if shape.release:
        # Whether or not the run held the turn, the next queued run of its session is named, as
        # `core.store.runs.release_turn` does in two statements.
        columns.append(sql.NEXT_QUEUED.scalar_subquery().label("next_in_session"))
    if shape.wake:
        woken = WAKE_HELD.cte("wk")
        columns.append(select(func.array_agg(woken.c.id)).scalar_subquery().label("woken"))
    if shape.rules:
        rule = func.json_build_object(
            "tool",
            tenant_policies.c.tool,
            "tier",
            tenant_policies.c.tier,
            "condition",
            tenant_policies.c.condition,
        )
        rules = select(func.json_agg(aggregate_order_by(rule, tenant_policies.c.id))).where(
            tenant_policies.c.tenant_id == _p("b_tenant"), tenant_policies.c.tool == _p("b_tool")
        )
        columns.append(type_coerce(rules.scalar_subquery(), JSON).label("rules"))
    return select(*columns).add_cte(*ctes)


def _invocation(r: Any, kind: str) -> Any:
    outcome = dict(
        status=_p("b_inv_status", type_=String),
        result=_p("b_inv_result", type_=JSON),
        error=_p("b_inv_error", type_=Text),
        updated_at=_p("b_now", type_=Float),
    )
    if kind == "update":
        return (
            update(tool_invocations)
            .where(tool_invocations.c.idempotency_key == _p("b_inv_key"))
            .values(**outcome)
        )
    stmt = postgresql.insert(tool_invocations).from_select(
        [
            "idempotency_key",
            "tenant_id",
            "run_id",
            "tool",
            "args_hash",
            "args",
            "status",
            "attempts",
            "result",
            "error",
            "created_at",
            "updated_at",
        ],
        select(
            _p("b_inv_key", type_=String),
            r.c.tenant_id,
            r.c.id,
            _p("b_inv_tool", type_=String),
            _p("b_inv_hash", type_=String),
            _p("b_inv_args", type_=JSON),
            _p("b_inv_status", type_=String),
            literal(1),
            _p("b_inv_result", type_=JSON),
            _p("b_inv_error", type_=Text),
            _p("b_now", type_=Float),
            _p("b_now", type_=Float),
        ),
    )
    # A row is there already when a worker recorded an intent before the tool was declared safe
    # to repeat: the outcome goes on it, as `core.store.steps._record_outcome` does.
    return stmt.on_conflict_do_update(index_elements=[tool_invocations.c.idempotency_key], set_=outcome)


def _typed(table: Any, names: list[str], prefix: str) -> list[Any]:
    """Bind parameters typed as the table's columns, so core/store/columns.py checks each value
    (text, lengths, integer widths) exactly as a plain INSERT would."""
    return [_p(prefix + name, type_=table.c[name].type) for name in names]


_MESSAGE = ["id", "tenant_id", "run_id", "user_id", "role", "content", "created_at"]
_RUN = [
    "id",
    "tenant_id",
    "user_id",
    "message_id",
    "bot",
    "surface",
    "thread_key",
    "status",
    "step",
    "event_seq",
    "fence",
    "attempts",
    "idempotency_key",
    "request_hash",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "created_at",
    "updated_at",
]
_EVENT = ["run_id", "seq", "tenant_id", "type", "created_at"]


@functools.cache
def submit() -> Select[Any]:
    """A new run: its thread's session (created, or found), its message, the run and its first
    event, as `core.store.runs.RunStore._insert` writes them one by one. Binds: `s_*` the new
    session's row, `m_*` the message's but its session, `r_*` the run's but its session, `e_*` the
    event's. The row's `session_id` is NULL, and nothing is written, when the session was neither
    created nor found in this statement's snapshot (another transaction created it a moment ago):
    the caller then takes the one-by-one path. The event's payload names the session, so it is
    built here: `{"bot", "user_id", "session_id", "surface"}`, as `_insert` builds it."""
    new_session = (
        postgresql.insert(sessions)
        .values({c: p for c, p in zip(_SESSION, _typed(sessions, _SESSION, "s_"), strict=True)})
        .on_conflict_do_nothing()
        .returning(sessions.c.id)
        .cte("s")
    )
    found = select(sessions.c.id).where(
        sessions.c.tenant_id == _p("s_tenant_id"),
        sessions.c.surface == _p("s_surface"),
        sessions.c.thread_key == _p("s_thread_key"),
    )
    sid = select(new_session.c.id).union_all(found).cte("sid")
    session_id = select(sid.c.id).limit(1).scalar_subquery()
    given = exists(select(sid.c.id))
    ctes = [
        messages.insert()
        .from_select(
            [*_MESSAGE, "session_id"], select(*_typed(messages, _MESSAGE, "m_"), session_id).where(given)
        )
        .cte("m"),
        runs.insert()
        .from_select([*_RUN, "session_id"], select(*_typed(runs, _RUN, "r_"), session_id).where(given))
        .cte("rn"),
        run_events.insert()
        .from_select(
            [*_EVENT, "payload"],
            select(
                *_typed(run_events, _EVENT, "e_"),
                func.json_build_object(
                    "bot",
                    _p("r_bot"),
                    "user_id",
                    _p("r_user_id"),
                    "session_id",
                    session_id,
                    "surface",
                    _p("r_surface"),
                ),
            ).where(given),
        )
        .cte("e"),
    ]
    return select(session_id.label("session_id")).add_cte(*ctes)


_SESSION = ["id", "tenant_id", "surface", "thread_key", "bot", "created_at"]
