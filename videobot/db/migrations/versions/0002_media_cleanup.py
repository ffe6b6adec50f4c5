"""media cleanup: when a job's media were removed, and how many bytes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("media_removed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("media_removed_bytes", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.drop_column("media_removed_bytes")
        batch_op.drop_column("media_removed_at")
