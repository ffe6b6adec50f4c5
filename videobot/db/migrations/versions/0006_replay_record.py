"""The replay record: the stages a job has finished, and the rerun whose discard was applied

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stages_done", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("rerun_run_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.drop_column("rerun_run_id")
        batch_op.drop_column("stages_done")
