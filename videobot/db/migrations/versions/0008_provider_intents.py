"""Every paid call written ahead (provider_intents), so a crash never leaves a payment unseen

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_intents",
        sa.Column("key", sa.String(length=64), primary_key=True),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("segment", sa.Integer(), nullable=True),
        sa.Column("part", sa.String(length=16), nullable=True),
        sa.Column("round", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("unanswered", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lost", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["video_jobs.id"], ondelete="CASCADE"),
    )
    with op.batch_alter_table("provider_intents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_intents_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("provider_intents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_intents_job_id"))
    op.drop_table("provider_intents")
