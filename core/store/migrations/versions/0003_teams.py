"""teams conversation references

Revision ID: 0003_teams
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0003_teams'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('teams_conversations',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('conversation_key', sa.String(length=300), nullable=False),
    sa.Column('conversation_id', sa.Text(), nullable=False),
    sa.Column('service_url', sa.String(length=500), nullable=False),
    sa.Column('reply_to_id', sa.String(length=200), nullable=True),
    sa.Column('reference', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_teams_conversations_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'conversation_key', name=op.f('pk_teams_conversations'))
    )


def downgrade() -> None:
    op.drop_table('teams_conversations')
