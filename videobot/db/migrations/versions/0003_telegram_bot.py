"""telegram bot: people's settings, request log for rate limits, status messages, job voice

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("narrator_voice", sa.String(length=32), nullable=True))
    op.create_table(
        "bot_users",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("telegram_language", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("format", sa.String(length=8), nullable=True),
        sa.Column("voice", sa.String(length=32), nullable=True),
        sa.Column("awaiting", sa.JSON(), nullable=True),
        sa.Column("status_edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_request_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "bot_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bot_requests_user_id", "bot_requests", ["user_id"])
    op.create_index("ix_bot_requests_at", "bot_requests", ["at"])
    op.create_table(
        "bot_status_messages",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["video_jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id"),
    )


def downgrade() -> None:
    op.drop_table("bot_status_messages")
    op.drop_index("ix_bot_requests_at", table_name="bot_requests")
    op.drop_index("ix_bot_requests_user_id", table_name="bot_requests")
    op.drop_table("bot_requests")
    op.drop_table("bot_users")
    with op.batch_alter_table("video_jobs", schema=None) as batch_op:
        batch_op.drop_column("narrator_voice")
