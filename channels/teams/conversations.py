"""Where each Teams conversation lives: its Bot Framework conversation reference (service URL,
conversation id, the bot's own account), saved on every activity that arrives, by tenant.

Replies, updates and proactive posts all go through this record: the renderer is pure and only
knows a run's thread key, and a proactive message (a scheduled run, a notice) has no incoming
activity to answer. The service URL is only ever taken from an authenticated activity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from core.clock import Clock
from core.store.database import Database
from core.store.schema import teams_conversations as table


@dataclass(frozen=True)
class Conversation:
    key: str  # the session's thread key
    conversation_id: str  # as Teams names it (a channel thread's id ends in ";messageid=<root>")
    service_url: str
    reply_to_id: str | None  # a channel thread's root message: replies go under it
    reference: dict[str, Any]  # the full ConversationReference, as Bot Framework serialises it


class ConversationStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def save(self, tenant_id: str, conversation: Conversation) -> None:
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

    async def get(self, tenant_id: str, key: str) -> Conversation | None:
        stmt = select(table).where(table.c.tenant_id == tenant_id, table.c.conversation_key == key)
        row = await self._db.run(lambda conn: conn.execute(stmt).first())
        if row is None:
            return None
        return Conversation(key, row.conversation_id, row.service_url, row.reply_to_id, dict(row.reference))
