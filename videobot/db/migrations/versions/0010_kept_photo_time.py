"""When a person's photo was kept for their next job, so an unused one can expire

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bot_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reference_kept_at", sa.DateTime(timezone=True), nullable=True)
        )
    # Photos already waiting start their time now rather than expiring at the next cleanup.
    op.execute(
        "UPDATE bot_users SET reference_kept_at = CURRENT_TIMESTAMP "
        "WHERE reference_path IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("bot_users", schema=None) as batch_op:
        batch_op.drop_column("reference_kept_at")
