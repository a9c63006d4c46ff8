"""Stored conversation references: where each conversation of a surface lives (core/records.py's
`ConversationReference`), saved on every activity that arrives, by tenant and thread key.

Today only Teams keeps them (its table is still named `teams_conversations`): its renderer only
knows a run's thread key, and a proactive message has no incoming activity to answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from core.clock import Clock
from core.records import ConversationReference
from core.store.database import Database
from core.store.schema import teams_conversations as table


class ConversationStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def save(self, tenant_id: str, conversation: ConversationReference) -> None:
        """Insert or refresh (Teams may move a conversation to another service URL)."""
        values = {
            "tenant_id": tenant_id,
            "conversation_key": conversation.key,
            "conversation_id": conversation.conversation_id,
            "service_url": conversation.service_url,
            "reply_to_id": conversation.reply_to_id,
            "reference": conversation.reference,
            "updated_at": self._clock.now(),
        }

        def upsert(conn: Connection) -> None:
            dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
            changed = {k: v for k, v in values.items() if k not in ("tenant_id", "conversation_key")}
            stmt = dialect.insert(table).values(values)
            conn.execute(
                stmt.on_conflict_do_update(index_elements=["tenant_id", "conversation_key"], set_=changed)
            )

        await self._db.run(upsert)

    async def get(self, tenant_id: str, key: str) -> ConversationReference | None:
        stmt = select(table).where(table.c.tenant_id == tenant_id, table.c.conversation_key == key)
        row = await self._db.run(lambda conn: conn.execute(stmt).first())
        if row is None:
            return None
        return ConversationReference(
            key, row.conversation_id, row.service_url, row.reply_to_id, dict(row.reference)
        )
