"""Lean entries: no stored prev hash, and an 8-byte event key in place of the unique 32-byte event hash.

- `entry.prev_hash` always held the previous entry's `leaf_hash` (32 zero bytes for seq 0), which
  the entry's own leaf hash covers: readers now take it from entry seq-1.
- `entry.event_hash` (33 bytes in the row, ~46 in its UNIQUE index) becomes `event_key`: the
  first 8 bytes of SHA-256(event) as a signed BIGINT, in the plain index `ix_entry_event_key`.
  A resend is found by key and confirmed on the event bytes (`ledger.store.appender.Appender._known`).

Keys, hashes and links are computed here in Python, `_CHUNK` rows at a time. The upgrade refuses
a log whose stored prev_hash or event_hash disagree with what they are derived from: the audit
reports those, and dropping the columns would erase the finding. The downgrade writes both back
from the leaf hashes and event bytes. SQLite rebuilds the table (as 0006 does); PostgreSQL alters
it in place (the dropped columns' space comes back as rows are rewritten, or with VACUUM FULL).

Revision ID: 0007
Revises: 0006
"""

import hashlib
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_CHUNK = 10_000
_GENESIS_PREV = bytes(32)
_SHARED = "seq, leaf_hash, event, event_type, item_uid, actor, signer, signature, recorded_at"
_TRANSFERS = sa.text("event_type = 'transfer'")
_OLD_ENTRY = """CREATE TABLE entry_new (
    seq INTEGER NOT NULL, prev_hash BLOB NOT NULL, leaf_hash BLOB NOT NULL, event BLOB NOT NULL,
    event_hash BLOB NOT NULL, event_type VARCHAR NOT NULL, item_uid VARCHAR, actor VARCHAR NOT NULL,
    signer BLOB NOT NULL, signature BLOB NOT NULL, recorded_at VARCHAR NOT NULL,
    PRIMARY KEY (seq), UNIQUE (event_hash))"""
_NEW_ENTRY = """CREATE TABLE entry_new (
    seq INTEGER NOT NULL, leaf_hash BLOB NOT NULL, event BLOB NOT NULL, event_key BIGINT NOT NULL,
    event_type VARCHAR NOT NULL, item_uid VARCHAR, actor VARCHAR NOT NULL,
    signer BLOB NOT NULL, signature BLOB NOT NULL, recorded_at VARCHAR NOT NULL,
    PRIMARY KEY (seq))"""


def _event_key(event_hash: bytes) -> int:
    """`ledger.log.entry.event_key` as of this revision, from the event's SHA-256 (a migration keeps its own copy)."""
    return int.from_bytes(event_hash[:8], "big", signed=True)


def _chunks(columns: str) -> Iterator[list[dict]]:
    """Every entry's `columns` (seq among them) in seq order, `_CHUNK` rows at a time: never the whole table."""
    bind = op.get_bind()
    select = sa.text(f"SELECT {columns} FROM entry WHERE seq >= :start ORDER BY seq LIMIT {_CHUNK}")
    start = 0
    while rows := bind.execute(select, {"start": start}).mappings().all():
        yield [dict(row) for row in rows]
        start = rows[-1]["seq"] + 1


def _keyed(chunks: Iterator[list[dict]]) -> Iterator[list[dict]]:
    """Rows given an `event_key`, once their prev_hash and event_hash are checked to be what they are derived from."""
    prev = _GENESIS_PREV
    for chunk in chunks:
        for row in chunk:
            event_hash = hashlib.sha256(row["event"]).digest()
            if bytes(row["prev_hash"]) != prev or bytes(row["event_hash"]) != event_hash:
                raise RuntimeError(f"entry {row['seq']}: its stored prev_hash or event_hash is not the previous leaf hash or the "
                                   "event's SHA-256 (tracemark verify reports it); dropping them would erase that, so this log "
                                   "does not move to revision 0007")
            row["event_key"], prev = _event_key(event_hash), row["leaf_hash"]
        yield chunk


def _linked(chunks: Iterator[list[dict]]) -> Iterator[list[dict]]:
    """Rows given back their `prev_hash` (the leaf hash stored before) and `event_hash`."""
    prev = _GENESIS_PREV
    for chunk in chunks:
        for row in chunk:
            row["prev_hash"], row["event_hash"], prev = prev, hashlib.sha256(row["event"]).digest(), row["leaf_hash"]
        yield chunk


def _rebuild_sqlite(create: str, columns: str, rows: Iterator[list[dict]]) -> None:
    """Copy `entry` into a table of the new shape, chunk by chunk (SQLite cannot drop a UNIQUE column)."""
    bind = op.get_bind()
    op.execute(create)
    insert = sa.text(f"INSERT INTO entry_new ({columns}) VALUES ({', '.join(':' + c.strip() for c in columns.split(','))})")
    for chunk in rows:
        bind.execute(insert, chunk)
    op.execute("DROP TABLE entry")
    op.execute("ALTER TABLE entry_new RENAME TO entry")
    op.create_index('ix_entry_item_seq', 'entry', ['item_uid', 'seq'])
    op.create_index('ix_entry_transfer_seq', 'entry', ['seq'], sqlite_where=_TRANSFERS)


def _fill_on_postgres(rows: Iterator[list[dict]], columns: dict[str, str]) -> None:
    """Set `columns` (name: SQL type) of every row by its seq, one UPDATE per chunk."""
    names = list(columns)
    arrays = ", ".join(f"CAST(:{name} AS {sql_type}[])" for name, sql_type in {"seq": "BIGINT", **columns}.items())
    update = sa.text(f"UPDATE entry SET {', '.join(f'{name} = v.{name}' for name in names)} "
                     f"FROM unnest({arrays}) AS v(seq, {', '.join(names)}) WHERE entry.seq = v.seq")
    bind = op.get_bind()
    for chunk in rows:
        bind.execute(update, {name: [row[name] for row in chunk] for name in ["seq", *names]})


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        chunks = _keyed(_chunks(f"{_SHARED}, prev_hash, event_hash"))
        _rebuild_sqlite(_NEW_ENTRY, f"{_SHARED}, event_key", chunks)  # the old indexes go with the old table
    else:
        op.execute("ALTER TABLE entry ADD COLUMN event_key BIGINT")
        _fill_on_postgres(_keyed(_chunks("seq, leaf_hash, event, prev_hash, event_hash")), {"event_key": "BIGINT"})
        op.execute("ALTER TABLE entry ALTER COLUMN event_key SET NOT NULL")
        op.execute("ALTER TABLE entry DROP COLUMN event_hash")  # and its unique constraint
        op.execute("ALTER TABLE entry DROP COLUMN prev_hash")
    op.create_index('ix_entry_event_key', 'entry', ['event_key'])


def downgrade() -> None:
    op.drop_index('ix_entry_event_key', table_name='entry')
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_sqlite(_OLD_ENTRY, f"{_SHARED}, prev_hash, event_hash", _linked(_chunks(_SHARED)))
        return
    op.execute("ALTER TABLE entry ADD COLUMN prev_hash BYTEA, ADD COLUMN event_hash BYTEA")
    _fill_on_postgres(_linked(_chunks("seq, leaf_hash, event")), {"prev_hash": "BYTEA", "event_hash": "BYTEA"})
    op.execute("ALTER TABLE entry ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN event_hash SET NOT NULL")
    op.execute("ALTER TABLE entry ADD CONSTRAINT entry_event_hash_key UNIQUE (event_hash)")
    op.execute("ALTER TABLE entry DROP COLUMN event_key")
