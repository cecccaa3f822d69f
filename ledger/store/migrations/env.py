"""Alembic environment: runs on the connection the caller hands over (see ledger.store.migrate)."""

from alembic import context
from sqlmodel import SQLModel

import ledger.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
