"""Compact storage: signatures and signers as bytes, only the indexes a query uses, no hidden rowids.

- `entry.signature` and `entry.signer` hold their 65 and 20 bytes instead of 132 and 42
  characters of hex (read back as the same text: `ledger.store.tables.SignatureBytes`/`AddressBytes`).
  A log holding a signature not spelled 0x + lower-case hex is refused: its leaf hashes cover
  that spelling, which bytes cannot keep.
- `entry.seq` becomes SQLite's INTEGER PRIMARY KEY (the rowid itself), so the table no longer
  carries a rowid plus a second index on seq; `merkle_node` becomes WITHOUT ROWID for the same
  reason. On PostgreSQL both stay as they are.
- `ix_entry_event_type` indexed every entry for one query (the newest transfers): it becomes
  `ix_entry_transfer_seq`, an index of transfers only.
- `item.kind`, `item.marker` and `item.custodian` lose indexes no query used (lookups by marker
  use `uq_item_marker_serial`).
- The `diversion` indexes hold diverted items only: every investigation query asks about those.
- `ix_checkpoint_anchored` finds the newest anchored checkpoint (every receipt names it) without
  reading every checkpoint signed since.

Revision ID: 0006
Revises: 0005
"""

import re
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_ENTRY_COLUMNS = "seq, prev_hash, leaf_hash, event, event_hash, event_type, item_uid, actor, signer, signature, recorded_at"
_CHUNK = 10_000
_SIGNATURE = re.compile(r"0x[0-9a-f]{130}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_DIVERSION_INDEXED = ("diverted_seq", "item_kind", "diversion_kind", "diversion_time", "last_legit_custodian", "found_country", "permit_number")
_ITEM_UNUSED = ("kind", "marker", "custodian")
_DIVERSION_COLUMNS = ("uid, item_kind, chain, diverted_seq, diversion_kind, diversion_time, last_legit_custodian, origin_country, "
                      "found_country, time_to_crime_days, seized_seq, permit_number")
_TRANSFERS = sa.text("event_type = 'transfer'")
_DIVERTED = sa.text("diverted_seq IS NOT NULL")
_ANCHORED = sa.text("anchor_block IS NOT NULL")


def _entry_sql(seq_type: str, hex_type: str) -> str:
    return f"""CREATE TABLE entry_new (
        seq {seq_type} NOT NULL, prev_hash BLOB NOT NULL, leaf_hash BLOB NOT NULL, event BLOB NOT NULL,
        event_hash BLOB NOT NULL, event_type VARCHAR NOT NULL, item_uid VARCHAR, actor VARCHAR NOT NULL,
        signer {hex_type} NOT NULL, signature {hex_type} NOT NULL, recorded_at VARCHAR NOT NULL,
        PRIMARY KEY (seq), UNIQUE (event_hash))"""


def _merkle_sql(rowid: bool) -> str:
    return ("CREATE TABLE merkle_node_new (level INTEGER NOT NULL, idx BIGINT NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx))"
            + ("" if rowid else " WITHOUT ROWID"))


def _to_bytes(seq: int, signer: str, signature: str) -> tuple[bytes, bytes]:
    if not _SIGNATURE.fullmatch(signature) or not _ADDRESS.fullmatch(signer):
        raise RuntimeError(f"entry {seq}: signer {signer!r} or signature {signature[:14]!r}... is not 0x hex as the log writes it; "
                           "its leaf hash covers that spelling, so this log cannot move to byte columns")
    return bytes.fromhex(signer[2:]), bytes.fromhex(signature[2:])


def _to_text(seq: int, signer: bytes, signature: bytes) -> tuple[str, str]:
    return _checksummed(signer), "0x" + signature.hex()


def _checksummed(address: bytes) -> str:
    from eth_utils import to_checksum_address  # noqa: PLC0415 - only the downgrade needs it

    return to_checksum_address(address)


def _copy_entries(convert: Callable[[int, object, object], tuple[object, object]]) -> None:
    """Copy every entry into entry_new in chunks, converting signer and signature on the way."""
    bind = op.get_bind()
    select = sa.text(f"SELECT {_ENTRY_COLUMNS} FROM entry WHERE seq >= :start ORDER BY seq LIMIT {_CHUNK}")
    insert = sa.text(f"INSERT INTO entry_new ({_ENTRY_COLUMNS}) VALUES ({', '.join(':' + c.strip() for c in _ENTRY_COLUMNS.split(','))})")
    start = 0
    while rows := bind.execute(select, {"start": start}).mappings().all():
        batch = [dict(row) for row in rows]
        for row in batch:
            row["signer"], row["signature"] = convert(row["seq"], row["signer"], row["signature"])
        bind.execute(insert, batch)
        start = rows[-1]["seq"] + 1


def _diversion_sql(rowid: bool) -> str:
    return ("CREATE TABLE diversion_new (uid VARCHAR NOT NULL, item_kind VARCHAR NOT NULL, chain JSON NOT NULL, diverted_seq BIGINT, "
            "diversion_kind VARCHAR, diversion_time VARCHAR, last_legit_custodian VARCHAR, origin_country VARCHAR, found_country VARCHAR, "
            "time_to_crime_days INTEGER, seized_seq BIGINT, permit_number VARCHAR, PRIMARY KEY (uid))" + ("" if rowid else " WITHOUT ROWID"))


def _rebuild_sqlite(seq_type: str, hex_type: str, rowid: bool, convert: Callable[[int, object, object], tuple[object, object]]) -> None:
    """Copy `entry`, `merkle_node` and `diversion` into tables of the new shape (SQLite cannot alter a key, a type or rowids).

    Indexes of `diversion` go with the old table; the caller makes them again.
    """
    op.execute(_entry_sql(seq_type, hex_type))
    _copy_entries(convert)
    op.execute("DROP TABLE entry")
    op.execute("ALTER TABLE entry_new RENAME TO entry")
    op.execute("CREATE INDEX ix_entry_item_seq ON entry (item_uid, seq)")
    op.execute(_merkle_sql(rowid))
    op.execute("INSERT INTO merkle_node_new (level, idx, hash) SELECT level, idx, hash FROM merkle_node ORDER BY level, idx")
    op.execute("DROP TABLE merkle_node")
    op.execute("ALTER TABLE merkle_node_new RENAME TO merkle_node")
    op.execute(_diversion_sql(rowid))
    op.execute(f"INSERT INTO diversion_new ({_DIVERSION_COLUMNS}) SELECT {_DIVERSION_COLUMNS} FROM diversion ORDER BY uid")
    op.execute("DROP TABLE diversion")
    op.execute("ALTER TABLE diversion_new RENAME TO diversion")


def _bytes_on_postgres() -> None:
    bad = op.get_bind().execute(sa.text(
        "SELECT seq, signer, signature FROM entry WHERE signature !~ '^0x[0-9a-f]{130}$' OR signer !~ '^0x[0-9a-fA-F]{40}$' LIMIT 1")).first()
    if bad is not None:
        _to_bytes(*bad)  # raises, naming the entry
    for column in ("signer", "signature"):
        op.execute(f"ALTER TABLE entry ALTER COLUMN {column} TYPE BYTEA USING decode(substr({column}, 3), 'hex')")


def _text_on_postgres() -> None:
    for column in ("signer", "signature"):
        op.execute(f"ALTER TABLE entry ALTER COLUMN {column} TYPE VARCHAR USING '0x' || encode({column}, 'hex')")
    bind = op.get_bind()
    for (signer,) in bind.execute(sa.text("SELECT DISTINCT signer FROM entry")).all():
        checksummed = _checksummed(bytes.fromhex(signer[2:]))
        bind.execute(sa.text("UPDATE entry SET signer = :new WHERE signer = :old"), {"new": checksummed, "old": signer})


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_sqlite("INTEGER", "BLOB", rowid=False, convert=_to_bytes)  # old indexes go with the old tables
    else:
        _bytes_on_postgres()
        op.drop_index('ix_entry_event_type', table_name='entry')
        for column in _DIVERSION_INDEXED:
            op.drop_index(f'ix_diversion_{column}', table_name='diversion')
    op.create_index('ix_entry_transfer_seq', 'entry', ['seq'], sqlite_where=_TRANSFERS, postgresql_where=_TRANSFERS)
    op.create_index('ix_checkpoint_anchored', 'checkpoint', ['size', 'id'], sqlite_where=_ANCHORED, postgresql_where=_ANCHORED)
    for column in _ITEM_UNUSED:
        op.drop_index(f'ix_item_{column}', table_name='item')
    for column in _DIVERSION_INDEXED:
        op.create_index(f'ix_diversion_{column}', 'diversion', [column], sqlite_where=_DIVERTED, postgresql_where=_DIVERTED)


def downgrade() -> None:
    op.drop_index('ix_checkpoint_anchored', table_name='checkpoint')
    op.drop_index('ix_entry_transfer_seq', table_name='entry')
    for column in _DIVERSION_INDEXED:
        op.drop_index(f'ix_diversion_{column}', table_name='diversion')
    for column in _ITEM_UNUSED:
        op.create_index(f'ix_item_{column}', 'item', [column])
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_sqlite("BIGINT", "VARCHAR", rowid=True, convert=_to_text)
    else:
        _text_on_postgres()
    op.create_index('ix_entry_event_type', 'entry', ['event_type'])
    for column in _DIVERSION_INDEXED:
        op.create_index(f'ix_diversion_{column}', 'diversion', [column])
