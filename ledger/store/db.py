"""Database engines: the embedded SQLite default or any SQLAlchemy URL (PostgreSQL included).

Appends are serialised by one lock: on SQLite a writer engine whose transactions open with
`BEGIN IMMEDIATE`, on PostgreSQL a transaction-scoped advisory lock. Readers never take it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import ClauseElement, ColumnElement, Connection, Dialect, Engine, Executable, Table, any_, bindparam, create_engine, event, func, make_url, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from ledger.errors import AppendLockBusy, StoreError

__all__ = ["DEFAULT_URL", "without_waiting", "Database", "open_database", "insert_rows", "select_sql", "driver_errors", "fetch_all", "in_values", "values_param"]

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

    def fetch_one(self, statement: Executable, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row `statement` reads, as the driver returns it, outside any session.

        For the one read every request makes (its API key): through a session and SQLAlchemy's
        result objects it took 210 µs, straight through the driver 21 µs. Columns come back as the
        driver's values: no column type converts them.
        """
        compiled = select_sql(statement, self.reader.dialect)
        sql, args = compiled.sql, compiled.arguments(params)
        with driver_errors(self.reader.dialect, sql):
            connection = self.reader.raw_connection()
            try:
                rows = fetch_all(connection, sql, args)
            finally:
                connection.close()  # back to the pool, which ends the driver's transaction if it opened one
        return rows[0] if rows else None

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def fetch_all(connection: Any, sql: str, args: Any) -> list[tuple[Any, ...]]:
    """Run `sql` on a raw (pooled DBAPI) connection and return its rows as the driver gives them."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, args)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows
    finally:
        cursor.close()


@contextmanager
def driver_errors(dialect: Dialect, sql: str) -> Iterator[None]:
    """The driver's errors raised as SQLAlchemy would raise them, for work done on a raw connection:
    callers see one kind of database error (an unreachable database is a 503 either way)."""
    driver_error = dialect.loaded_dbapi.Error
    try:
        yield
    except driver_error as exc:
        raise DBAPIError.instance(sql, None, exc, driver_error) from exc


def in_values(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """`column IN (values)` with all the values bound as one parameter, `name` (`values_param` makes it).

    An append batch looks up a thousand keys at once. SQLAlchemy's expanding IN renders, names
    and converts one parameter per value on every call, which cost three times what the database
    took to find them: here SQLite reads the values from one JSON array (json_each), PostgreSQL
    from one array.
    """
    condition: ColumnElement[bool]
    if dialect == "postgresql":
        condition = column == any_(bindparam(name))
    elif dialect == "sqlite":
        condition = column.in_(select(func.json_each(bindparam(name)).table_valued("value").c.value))
    else:
        condition = column.in_(bindparam(name, expanding=True))  # another database: SQLAlchemy's own way
    return condition


def values_param(values: Iterable[Any], dialect: str) -> Any:
    """The parameter `in_values` binds: a JSON array for SQLite, a list (an array) for PostgreSQL."""
    return orjson.dumps(list(values)).decode() if dialect == "sqlite" else list(values)


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (column key -> value, every column present; None is SQL NULL) with one driver executemany.

    The append path's bulk inserts: SQLAlchemy's Core insert builds and processes each row's
    parameters in Python, which cost more than the database's own work. Here each column's
    type converts its values (JSON, signatures as bytes) and the driver does the rest.
    """
    if not rows:
        return
    connection = session.connection()
    sql, values_of, converters = _insert_sql(table, connection.dialect)
    values = [list(values_of(row)) for row in rows]
    for at, convert in converters:
        for row_values in values:
            if row_values[at] is not None:
                row_values[at] = convert(row_values[at])
    connection.exec_driver_sql(sql, list(map(tuple, values)))


@cache
def _insert_sql(table: Table, dialect: Dialect) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]], tuple[tuple[int, Callable[[Any], Any]], ...]]:
    """The driver's INSERT for `table` (its paramstyle), what reads a row's values in column order,
    and the converters of the columns that have one."""
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer
    columns = list(table.columns)
    sql = (f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.quote(column.name) for column in columns)}) "
           f"VALUES ({', '.join(marker for _ in columns)})")
    processors = ((at, column.type.dialect_impl(dialect).bind_processor(dialect)) for at, column in enumerate(columns))
    values_of = itemgetter(*(column.key for column in columns)) if len(columns) > 1 else lambda row: (row[columns[0].key],)
    return sql, values_of, tuple((at, convert) for at, convert in processors if convert is not None)


@dataclass(frozen=True)
class CompiledSelect:
    """A statement compiled for one dialect: its SQL, and how to turn parameters into the driver's arguments."""

    sql: str
    order: tuple[str, ...] | None  # parameter names in place order, for a positional paramstyle
    fixed: dict[str, Any]  # values the statement binds itself (its literals)
    converters: dict[str, Callable[[Any], Any]]  # the parameter types that convert values (addresses as bytes...)

    def arguments(self, params: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        values = {**self.fixed, **params}
        for name, convert in self.converters.items():
            if values.get(name) is not None:
                values[name] = convert(values[name])
        return values if self.order is None else tuple(values[name] for name in self.order)


@cache
def select_sql(statement: ClauseElement, dialect: Dialect) -> CompiledSelect:
    """`statement` compiled once for `dialect` (no expanding IN: its SQL would change with each call)."""
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):
        raise TypeError(f"{type(statement).__name__} is not a SQL statement")
    fixed = {name: value for name, value in compiled.params.items() if value is not None}
    processors = {bind.key: bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in compiled.binds.values()}
    return CompiledSelect(str(compiled), tuple(compiled.positiontup or ()) if compiled.positional else None, fixed,
                          {name: convert for name, convert in processors.items() if convert is not None})


def open_database(url: str = DEFAULT_URL) -> Database:
    """Engines for `url`, built on demand (never at import time) so tests pick their own database."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        _create_private(url)
        return Database(url, _sqlite_engine(url, "BEGIN IMMEDIATE"), _sqlite_engine(url, "BEGIN"))
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return Database(url, engine, engine)


def missing_sqlite_file(url: str) -> str | None:
    """The path of the SQLite file `url` names when that file does not exist (None for any other database)."""
    if not url.startswith("sqlite"):
        return None
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:") or os.path.exists(path):
        return None
    return path


def _create_private(url: str) -> None:
    """Create the SQLite database file of `url`, if it does not exist yet, readable and writable by
    its owner only (0600): it holds owners' personal data and API key hashes. SQLite gives the
    -wal and -shm files it makes beside it the same mode. A database that exists keeps its mode."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):  # there already, or no such folder (SQLite then says so)
        pass


def _null(value: None) -> None:
    return None


def _bind_as_they_are() -> None:
    """Bind bytes, memoryviews and None without the sqlite3 module's adaptation lookup.

    sqlite3 binds ints, floats and strings directly, but asks every other parameter for
    `__adapt__`/`__conform__` first: each lookup raises an AttributeError and formats its
    message. An append binds some twenty hashes, packed values and NULLs an event, and those
    lookups were 5% of it. An adapter registered for a type is found in one dictionary lookup;
    these return their value as it is, so every binding stays what it was. (Registering one for
    int, float or str would send every parameter through adaptation: none is.)
    """
    sqlite3.register_adapter(bytes, bytes)
    sqlite3.register_adapter(memoryview, memoryview)
    sqlite3.register_adapter(type(None), _null)


_no_wait = threading.local()
_BUSY_TIMEOUT_MS = 60_000


@contextmanager
def without_waiting() -> Iterator[None]:
    """Write transactions this thread begins on SQLite meanwhile raise AppendLockBusy instead of
    waiting in SQLite's busy handler, which sleeps (1, 2, 5, 10 ms...) on the caller's thread:
    an event loop committing a group must not sleep while another process commits."""
    _no_wait.on = True
    try:
        yield
    finally:
        _no_wait.on = False


def _sqlite_engine(url: str, begin: str) -> Engine:
    _bind_as_they_are()
    engine = create_engine(url, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        if not getattr(_no_wait, "on", False):
            connection.exec_driver_sql(begin)
            return
        driver = connection.connection.driver_connection
        if not isinstance(driver, sqlite3.Connection):
            raise StoreError(f"a SQLite engine's connection is driven by {type(driver).__name__}, not sqlite3")
        driver.execute("PRAGMA busy_timeout = 0")  # fail at once if another process holds the lock
        try:
            driver.execute(begin)
        except sqlite3.OperationalError as exc:
            raise AppendLockBusy(str(exc)) from exc
        finally:
            driver.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")

    return engine
