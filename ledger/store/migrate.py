"""Schema changes go through Alembic: `upgrade` brings any database to the newest schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from ledger.store.db import Database

__all__ = ["upgrade", "alembic_config", "head_revision"]

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(db: Database) -> None:
    """Create or upgrade the schema to the newest migration (idempotent)."""
    with db.writer.connect() as connection:
        command.upgrade(alembic_config(connection), "head")
        connection.commit()


def head_revision() -> str:
    """The newest migration's revision: the schema a fresh log gets."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None  # the project ships its migrations
    return head
