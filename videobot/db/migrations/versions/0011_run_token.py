"""Which attempt of a job's run works on it: an attempt started while an older one still
lives (a live run taken for lost) takes the job over, and the older one steps aside

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.drop_column("run_token")
