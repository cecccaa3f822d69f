"""Reads of one request, straight through the driver, in one transaction.

A border scan reads half a dozen rows (the item, its story, the marking key, its holders, a
permit). Each of them through an ORM session cost about 100 µs of SQLAlchemy, against some
15 µs through the driver, and a scan's reads were a third of its server time. A `Snapshot`
runs compiled-once statements on one pooled driver connection inside one transaction, so its
reads see one state of the log, and makes each row a detached table object (`new_row`) after
the column types have converted its values, as the ORM would have.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Dialect, Select, and_, bindparam, select
from sqlmodel import SQLModel

from ledger.store.db import Database, driver_errors, fetch_all, select_sql
from ledger.store.tables import new_row, primary_key

__all__ = ["Snapshot", "rows_of"]

_Row = TypeVar("_Row", bound=SQLModel)


def rows_of(table: type[SQLModel]) -> Select[Any]:
    """SELECT of every column of `table`, in table order: the statements a `Snapshot` turns into rows."""
    return select(*table.__table__.columns)  # type: ignore[attr-defined]


@cache
def _by_key(table: type[SQLModel]) -> Select[Any]:
    return rows_of(table).where(and_(*(table.__table__.c[key] == bindparam(key) for key in primary_key(table))))  # type: ignore[attr-defined]


@cache
def _converters(table: type[SQLModel], dialect: Dialect) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """Each column's key and what turns the driver's value into the attribute's (None: nothing to do)."""
    columns = table.__table__.columns  # type: ignore[attr-defined]
    return tuple((column.key, column.type.dialect_impl(dialect).result_processor(dialect, None)) for column in columns)


class Snapshot:
    """A request's reads: `get` by primary key, `first` and `all` of a `rows_of` statement.

    Used as a context manager. Its transaction is a snapshot (SQLite's WAL; PostgreSQL's
    repeatable read, read only): every read sees the log as it was at the first one. Driver
    errors come out as SQLAlchemy's, as a session's would (an unreachable database stays a 503).
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._dialect = db.reader.dialect
        self._connection: Any = None

    def __enter__(self) -> Snapshot:
        with driver_errors(self._dialect, "BEGIN"):
            self._connection = self._begin()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        try:
            with driver_errors(self._dialect, "ROLLBACK"):
                self._connection.rollback()  # only reads: nothing to keep
        finally:
            self._connection.close()  # back to the pool

    def _begin(self) -> Any:
        connection = self._db.reader.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                if self._db.is_sqlite:  # the reader's connections run in autocommit mode: the transaction is ours to open
                    cursor.execute("BEGIN")
                else:  # one snapshot for every statement, as SQLite's WAL gives (read committed would not)
                    connection.rollback()
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            finally:
                cursor.close()
        except BaseException:
            connection.close()
            raise
        return connection

    def get(self, table: type[_Row], *key: Any) -> _Row | None:
        return self.first(table, _by_key(table), dict(zip(primary_key(table), key, strict=True)))

    def first(self, table: type[_Row], statement: Select[Any], params: dict[str, Any]) -> _Row | None:
        rows = self.all(table, statement, params)
        return rows[0] if rows else None

    def raw(self, sql: str) -> list[tuple[Any, ...]]:
        """The driver's rows of `sql`, sent as it is: SQL whose values are written into it."""
        with driver_errors(self._dialect, sql):
            return fetch_all(self._connection, sql, ())

    def all(self, table: type[_Row], statement: Select[Any], params: dict[str, Any]) -> list[_Row]:
        """The rows `statement` (a `rows_of(table)` select) reads, as `table` objects."""
        compiled = select_sql(statement, self._dialect)
        with driver_errors(self._dialect, compiled.sql):
            found = fetch_all(self._connection, compiled.sql, compiled.arguments(params))
        converters = _converters(table, self._dialect)
        return [new_row(table, **{key: value if convert is None or value is None else convert(value)
                                  for (key, convert), value in zip(converters, row, strict=True)}) for row in found]
