"""knowledge: namespaces, their allow-lists and groups, documents and chunks, and keyword search
(SQLite: an FTS5 external-content table kept in step by triggers; PostgreSQL: a GIN-indexed tsvector)

Revision ID: 0006_knowledge
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_knowledge"
down_revision = "0001"
branch_labels = None
depends_on = None

_FTS = [
    "CREATE VIRTUAL TABLE knowledge_chunks_fts USING fts5("
    "title_path, text, content='knowledge_chunks', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER knowledge_chunks_ai AFTER INSERT ON knowledge_chunks BEGIN "
    "INSERT INTO knowledge_chunks_fts(rowid, title_path, text) VALUES (new.id, new.title_path, new.text); END",
    "CREATE TRIGGER knowledge_chunks_ad AFTER DELETE ON knowledge_chunks BEGIN "
    "INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts, rowid, title_path, text) "
    "VALUES ('delete', old.id, old.title_path, old.text); END",
    "CREATE TRIGGER knowledge_chunks_au AFTER UPDATE OF title_path, text ON knowledge_chunks BEGIN "
    "INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts, rowid, title_path, text) "
    "VALUES ('delete', old.id, old.title_path, old.text); "
    "INSERT INTO knowledge_chunks_fts(rowid, title_path, text) VALUES (new.id, new.title_path, new.text); END",
]


def upgrade() -> None:
    op.create_table(
        "knowledge_namespaces",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=300), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_knowledge_namespaces_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_knowledge_namespaces"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_knowledge_namespaces_name"),
    )
    op.create_table(
        "knowledge_acl",
        sa.Column("namespace_id", sa.String(length=40), nullable=False),
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"], ["knowledge_namespaces.id"], name="fk_knowledge_acl_namespace_id_knowledge_namespaces"
        ),
        sa.PrimaryKeyConstraint("namespace_id", "principal", name="pk_knowledge_acl"),
    )
    op.create_table(
        "knowledge_group_members",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_knowledge_group_members_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_knowledge_group_members_user_id_users"),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "group_name", name="pk_knowledge_group_members"),
    )
    op.create_table(
        "knowledge_documents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("namespace_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_knowledge_documents_tenant_id_tenants"),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["knowledge_namespaces.id"],
            name="fk_knowledge_documents_namespace_id_knowledge_namespaces",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_knowledge_documents"),
        sa.UniqueConstraint("namespace_id", "source", name="uq_knowledge_documents_source"),
    )
    op.create_table(
        "knowledge_chunks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("namespace_id", sa.String(length=40), nullable=False),
        sa.Column("document_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title_path", sa.String(length=1000), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_model", sa.String(length=200), nullable=True),
        sa.Column("dimension", sa.Integer(), nullable=True),
        sa.Column("search_vector", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_knowledge_chunks_tenant_id_tenants"),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["knowledge_namespaces.id"],
            name="fk_knowledge_chunks_namespace_id_knowledge_namespaces",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["knowledge_documents.id"], name="fk_knowledge_chunks_document_id_knowledge_documents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_knowledge_chunks"),
    )
    op.create_index("ix_knowledge_chunks_scope", "knowledge_chunks", ["tenant_id", "namespace_id"])
    op.create_index("ix_knowledge_chunks_document", "knowledge_chunks", ["document_id", "position"])
    op.create_index(
        "ix_knowledge_chunks_search_vector", "knowledge_chunks", ["search_vector"], postgresql_using="gin"
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in _FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("knowledge_chunks_au", "knowledge_chunks_ad", "knowledge_chunks_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS knowledge_chunks_fts")
    op.drop_index("ix_knowledge_chunks_search_vector", table_name="knowledge_chunks")
    op.drop_index("ix_knowledge_chunks_document", table_name="knowledge_chunks")
    op.drop_index("ix_knowledge_chunks_scope", table_name="knowledge_chunks")
    op.drop_table("knowledge_chunks")
    op.drop_table("knowledge_documents")
    op.drop_table("knowledge_group_members")
    op.drop_table("knowledge_acl")
    op.drop_table("knowledge_namespaces")
