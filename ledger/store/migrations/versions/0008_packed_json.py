"""Packed JSON: event bytes, item facts and custody chains stored deflated against a preset dictionary.

- `entry.event` keeps its type (bytes); each row's event is rewritten packed (`ledger.store.packing`).
  Reading it back gives the very bytes that were signed and hashed, so no hash changes.
- `item.facts` and `diversion.chain` change from JSON to packed bytes. SQLite cannot change a
  column's type, so it gets a copy of each table made from its own stored CREATE statement
  (keeping every constraint and WITHOUT ROWID) and its indexes back; PostgreSQL alters them.

Rows are converted in chunks in Python, never the whole table at once. The packing format is
frozen (a dictionary never changes once used), so this migration may import it.

Revision ID: 0008
Revises: 0007
"""

import json
import re
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from ledger.store.packing import pack, pack_object, unpack

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_CHUNK = 10_000
_OBJECTS = (("item", "uid", "facts"), ("diversion", "uid", "chain"))


def _packed_object(value: object) -> bytes:
    """A JSON column's value (text on SQLite, parsed on PostgreSQL) as `PackedJSON` stores it."""
    return pack_object(json.loads(value) if isinstance(value, (str, bytes)) else value)  # type: ignore[arg-type]


def _packed_event(value: object) -> bytes:
    event = bytes(value)  # type: ignore[arg-type]
    return pack(event) if event.startswith(b"{") else event  # anything else is kept as it is, for the audit to report


def _plain_object(value: object) -> str:
    return unpack(bytes(value)).decode()  # type: ignore[arg-type]


def _rewrite(table: str, key: str, column: str, convert: Callable[[object], object]) -> None:
    """Set `column` to `convert(column)` in every row of `table`, a chunk at a time in key order."""
    bind = op.get_bind()
    select = sa.text(f"SELECT {key}, {column} FROM {table} WHERE {key} > :after ORDER BY {key} LIMIT {_CHUNK}")
    first = sa.text(f"SELECT {key}, {column} FROM {table} ORDER BY {key} LIMIT {_CHUNK}")
    update = sa.text(f"UPDATE {table} SET {column} = :value WHERE {key} = :key")
    rows = bind.execute(first).all()
    while rows:
        bind.execute(update, [{"key": row[0], "value": convert(row[1])} for row in rows])
        rows = bind.execute(select, {"after": rows[-1][0]}).all()


def _retype_sqlite(table: str, column: str, old: str, new: str, convert: Callable[[object], object]) -> None:
    """Copy `table` into one whose `column` is declared `new`, converting values; indexes follow.

    The new table is made from the old one's own CREATE statement, so nothing else changes.
    """
    bind = op.get_bind()
    create = bind.execute(sa.text("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = :name"), {"name": table}).scalar_one()
    declared, count = re.subn(rf"\b{column} {old} NOT NULL", f"{column} {new} NOT NULL", create)
    if count != 1:
        raise RuntimeError(f"{table}.{column} is not declared {old} NOT NULL: {create}")
    indexes = bind.execute(sa.text("SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = :name AND sql IS NOT NULL"),
                           {"name": table}).scalars().all()
    op.execute(declared.replace(f"CREATE TABLE {table} ", f"CREATE TABLE {table}_new ", 1).replace(f'CREATE TABLE "{table}" ', f"CREATE TABLE {table}_new ", 1))
    op.execute(f"INSERT INTO {table}_new SELECT * FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
    for index in indexes:
        op.execute(index)
    _rewrite(table, "uid", column, convert)


def upgrade() -> None:
    _rewrite("entry", "seq", "event", _packed_event)
    for table, key, column in _OBJECTS:
        if op.get_bind().dialect.name == 'sqlite':
            _retype_sqlite(table, column, "JSON", "BLOB", _packed_object)
        else:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE BYTEA USING convert_to({column}::text, 'UTF8')")
            _rewrite(table, key, column, _packed_object)


def downgrade() -> None:
    _rewrite("entry", "seq", "event", lambda event: unpack(bytes(event)))  # type: ignore[arg-type]
    for table, key, column in _OBJECTS:
        if op.get_bind().dialect.name == 'sqlite':
            _retype_sqlite(table, column, "BLOB", "JSON", _plain_object)
        else:
            _rewrite(table, key, column, lambda value: unpack(bytes(value)))  # type: ignore[arg-type]
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE JSON USING convert_from({column}, 'UTF8')::json")
