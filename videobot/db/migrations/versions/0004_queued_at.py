"""queued_at: when a job last joined the queue for a working slot, its place in that queue

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-14 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
    # Jobs queued before the column existed keep the order they had (by their last update).
    op.execute("UPDATE video_jobs SET queued_at = updated_at WHERE status = 'queued'")


def downgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.drop_column("queued_at")
