"""Creative control: the style sheet, the person's photo, the motion model, gate round offsets

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("style_sheet", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("reference_path", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("motion_model", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("motion_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("first_rounds", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("replaced_final_path", sa.Text(), nullable=True))
    with op.batch_alter_table("bot_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("motion", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("reference_path", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bot_users", schema=None) as batch_op:
        batch_op.drop_column("reference_path")
        batch_op.drop_column("motion")
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.drop_column("replaced_final_path")
        batch_op.drop_column("first_rounds")
        batch_op.drop_column("motion_seconds")
        batch_op.drop_column("motion_model")
        batch_op.drop_column("reference_path")
        batch_op.drop_column("style_sheet")
