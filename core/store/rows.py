"""Row → record conversion and the one primitive behind every run state change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, insert, update

from core.ids import new_id
from core.lifecycle import RunStatus
from core.outbound import Outbound, Renderers
from core.records import NewEvent, Run, RunEvent
from core.store.schema import outbox, run_events, runs
from core.store.sql import insert_ignore

INSERT_EVENTS = insert(run_events)
_RUN_FIELDS = tuple(Run.__dataclass_fields__)


def run_from_row(row: Row[Any] | Mapping[str, Any]) -> Run:
    data = dict(row._mapping) if isinstance(row, Row) else dict(row)
    values: dict[str, Any] = {name: data.get(name) for name in _RUN_FIELDS}
    values["status"] = RunStatus(values["status"])
    return Run(**values)


def update_run(
    conn: Connection,
    *,
    run_id: str,
    tenant_id: str,
    where: Sequence[ColumnElement[bool]] = (),
    values: Mapping[str, Any],
    events: Sequence[NewEvent] = (),
    now: float,
    renderers: Renderers | None = None,
) -> Run | None:
    """Conditionally update one run and append its events with contiguous sequence numbers.

    The UPDATE takes the run's row lock, so sequence numbers are allocated without gaps or races.
    Returns the updated run, or None when the conditions did not hold (nothing is written).
    """
    stmt = (
        update(runs)
        .where(and_(runs.c.id == run_id, runs.c.tenant_id == tenant_id, *where))
        .values(**values, event_seq=runs.c.event_seq + len(events), updated_at=now)
        .returning(*runs.c)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    run = run_from_row(row)
    if events:
        append_events(conn, run, numbered(run, events, now), renderers)
    return run


def numbered(run: Run, events: Sequence[NewEvent], now: float) -> list[RunEvent]:
    """Give new events the sequence numbers the run's UPDATE just allocated (its last ones)."""
    first = run.event_seq - len(events) + 1
    return [RunEvent(run.id, first + i, e.type, e.payload, now) for i, e in enumerate(events)]


def append_events(
    conn: Connection, run: Run, events: Sequence[RunEvent], renderers: Renderers | None
) -> None:
    """Insert events (their sequence numbers already allocated) and, in the same transaction,
    the outbox items the run's surface renders from them."""
    conn.execute(
        INSERT_EVENTS,
        [
            {
                "run_id": e.run_id,
                "seq": e.seq,
                "tenant_id": run.tenant_id,
                "type": e.type,
                "payload": e.payload,
                "created_at": e.created_at,
            }
            for e in events
        ],
    )
    queue_rendered(conn, run, events, renderers)


def queue_rendered(
    conn: Connection, run: Run, events: Sequence[RunEvent], renderers: Renderers | None
) -> None:
    """The outbox items the run's surface renders from its new events, in the caller's transaction."""
    renderer = renderers.get(run.surface) if renderers else None
    if renderer is None or not events:
        return
    queue_outbound(
        conn, run.tenant_id, run.surface, run.id, renderer.render(run, events), events[-1].created_at
    )


def queue_outbound(
    conn: Connection, tenant_id: str, surface: str, group: str | None, items: Iterable[Outbound], now: float
) -> None:
    """Record outbox items in the caller's transaction, once per key. The dispatcher delivers the
    items of one group (a run, or a notice's group) in the order they were queued."""
    for item in items:
        insert_ignore(
            conn,
            outbox,
            {
                "id": new_id("out"),
                "tenant_id": tenant_id,
                "surface": surface,
                "run_id": group,
                "dedupe_key": item.key,
                "target": item.target,
                "payload": item.payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
