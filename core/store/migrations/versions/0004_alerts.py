"""alerts, anomaly check state and the demo metrics table

Revision ID: 0004_alerts
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_alerts"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("check_id", sa.String(length=40), nullable=False),
        sa.Column("incident_ts", sa.Float(), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=False),
        sa.Column("bot", sa.String(length=100), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=200), nullable=False),
        sa.Column("detector", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("narration", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notified", sa.Integer(), nullable=False),
        sa.Column("acked_by", sa.String(length=40), nullable=True),
        sa.Column("silenced_by", sa.String(length=40), nullable=True),
        sa.Column("silenced_until", sa.Float(), nullable=True),
        sa.Column("investigation_run_id", sa.String(length=40), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_alerts_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("tenant_id", "check_id", "incident_ts", name="uq_alerts_incident"),
    )
    op.create_index("ix_alerts_check", "alerts", ["tenant_id", "check_id", "status"])
    op.create_table(
        "alert_checks",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("check_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("open_alert_id", sa.String(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_alert_checks_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("tenant_id", "check_id", name="pk_alert_checks"),
    )
    op.create_table(
        "demo_metrics",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "name", "ts", name="pk_demo_metrics"),
    )


def downgrade() -> None:
    op.drop_table("demo_metrics")
    op.drop_table("alert_checks")
    op.drop_index("ix_alerts_check", table_name="alerts")
    op.drop_table("alerts")
