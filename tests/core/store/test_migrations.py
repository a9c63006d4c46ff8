"""The migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from core.store.context import ContextStore
from core.store.schema import metadata


async def test_migrated_database_matches_the_declared_schema(store: ContextStore) -> None:
    def diff(conn: Connection) -> list[object]:
        # SQLite's FTS5 index of knowledge chunks (a virtual table and its shadow tables) is made
        # by the migration in SQL; it has no place in SQLAlchemy's metadata.
        def declared(name: str | None, kind: str, parent: object) -> bool:
            return not (kind == "table" and (name or "").startswith("knowledge_chunks_fts"))

        context = MigrationContext.configure(conn, opts={"include_name": declared})
        return compare_metadata(context, metadata)

    assert await store.db.run(diff) == []
