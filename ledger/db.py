"""Database engines: the embedded SQLite default or any SQLAlchemy URL (PostgreSQL included).

Appends are serialised by one lock: on SQLite a writer engine whose transactions open with
`BEGIN IMMEDIATE`, on PostgreSQL a transaction-scoped advisory lock. Readers never take it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session

__all__ = ["DEFAULT_URL", "Database", "open_database"]

DEFAULT_URL = "sqlite:///tracemark.db"
_APPEND_LOCK_ID = 0x7472_6D6B  # "trmk": the advisory lock that serialises appends on PostgreSQL


@dataclass(frozen=True)
class Database:
    url: str
    writer: Engine
    reader: Engine

    @property
    def is_sqlite(self) -> bool:
        return self.writer.dialect.name == "sqlite"

    def lock_for_append(self, session: Session) -> None:
        """Take the append lock for the rest of `session`'s transaction."""
        if not self.is_sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _APPEND_LOCK_ID})

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def _compact_json(value: object) -> str:
    """JSON columns (item facts, custody folds) without the spaces `json.dumps` puts in by default."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def open_database(url: str = DEFAULT_URL) -> Database:
    """Engines for `url`, built on demand (never at import time) so tests pick their own database."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        return Database(url, _sqlite_engine(url, "BEGIN IMMEDIATE"), _sqlite_engine(url, "BEGIN"))
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_serializer=_compact_json)
    return Database(url, engine, engine)


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, json_serializer=_compact_json)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:  # noqa: ANN001
        connection.exec_driver_sql(begin)

    return engine
