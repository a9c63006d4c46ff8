"""Recording a notice's outbox items (core/notices.py says what a notice is)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from core.errors import InvalidInput
from core.notices import Notice, NoticeRenderers
from core.store.rows import queue_outbound
from core.store.schema import outbox


def queue_notice(
    conn: Connection, tenant_id: str, notice: Notice, renderers: NoticeRenderers, now: float
) -> None:
    """Record a notice's outbox items in the caller's transaction (once per key)."""
    renderer = renderers.get(notice.surface)
    if renderer is None:
        raise InvalidInput(f"no surface {notice.surface!r} can show notices; known: {', '.join(renderers)}")
    replied = _delivered(conn, notice.reply_to) if notice.reply_to else None
    queue_outbound(conn, tenant_id, notice.surface, notice.group, renderer.render(notice, replied), now)


def _delivered(conn: Connection, key: str) -> dict[str, Any] | None:
    stmt = select(outbox.c.result).where(outbox.c.dedupe_key == key, outbox.c.status == "delivered")
    value = conn.execute(stmt).scalar_one_or_none()
    return dict(value) if value is not None else None
