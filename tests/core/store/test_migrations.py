"""The migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from core.store.context import ContextStore
from core.store.schema import metadata


async def test_migrated_database_matches_the_declared_schema(store: ContextStore) -> None:
    def diff(conn: Connection) -> list[object]:
        return compare_metadata(MigrationContext.configure(conn), metadata)

    assert await store.db.run(diff) == []
