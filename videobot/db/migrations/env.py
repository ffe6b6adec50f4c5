"""Alembic environment: runs on the connection handed over by `videobot.db.engine.migrate`."""

from alembic import context

from videobot.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through videobot.db.engine.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
