"""Captions and music: word timings per narration, the music mood, the captions choice

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("word_timings", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("music_mood", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("captions", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("captions_path", sa.Text(), nullable=True))
    with op.batch_alter_table("bot_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("captions", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bot_users", schema=None) as batch_op:
        batch_op.drop_column("captions")
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.drop_column("captions_path")
        batch_op.drop_column("captions")
        batch_op.drop_column("music_mood")
        batch_op.drop_column("word_timings")
