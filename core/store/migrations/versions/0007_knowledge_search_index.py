"""knowledge: PostgreSQL's full-text index leads with the tenant (a GIN over tenant_id and the
tsvector, with the btree_gin extension), so a tenant's keyword search reads only its own matches:
at 100k chunks across 10 tenants, 22-44 ms became 4 ms. Where btree_gin cannot be created, the
index holds the tsvector alone, as before.

Revision ID: 0007_knowledge_search_index
Revises: 0006_knowledge
"""

import logging

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0007_knowledge_search_index"
down_revision = "0006_knowledge"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)


def upgrade() -> None:
    op.drop_index("ix_knowledge_chunks_search_vector", table_name="knowledge_chunks")
    bind = op.get_bind()
    columns = ["tenant_id", "search_vector"]
    if bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gin")
        except DBAPIError as exc:
            log.warning("btree_gin is unavailable (%s): the full-text index holds the tsvector only", exc.orig)
            columns = ["search_vector"]
    op.create_index("ix_knowledge_chunks_search", "knowledge_chunks", columns, postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_knowledge_chunks_search", table_name="knowledge_chunks")
    op.create_index(
        "ix_knowledge_chunks_search_vector", "knowledge_chunks", ["search_vector"], postgresql_using="gin"
    )
