"""partial indexes for admission: a tenant's running runs, and the runs it holds

Revision ID: 0005_admission_indexes
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_admission_indexes"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    running = sa.text("status = 'running'")
    op.create_index(
        "ix_runs_running", "runs", ["tenant_id", "user_id"], postgresql_where=running, sqlite_where=running
    )
    held = sa.text("status = 'queued' AND lease_owner IS NULL AND lease_expires_at IS NOT NULL")
    op.create_index("ix_runs_held", "runs", ["tenant_id"], postgresql_where=held, sqlite_where=held)


def downgrade() -> None:
    op.drop_index("ix_runs_held", table_name="runs")
    op.drop_index("ix_runs_running", table_name="runs")
