"""Alembic environment: migrations run on a connection handed in by `core.store.migrate`."""

from __future__ import annotations

from alembic import context

from core.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we always pass one
    raise RuntimeError("run migrations through `switchboard migrate`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
