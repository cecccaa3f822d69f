"""Ordered event keys: `entry.event_key` sorts by the event's own time instead of by its hash.

0007's key was the first 8 bytes of the event's SHA-256, so every append inserted into a random
leaf of `ix_entry_event_key`. Once the index outgrew the page cache, a batch of 1,000 dirtied
about a thousand pages: appends wrote 10 KB an event at 10^6 entries (2 KB with ordered keys)
and slowed as the log grew. The key is now the event's second (its `time` member) shifted above
30 bits of its SHA-256 (`ledger.log.entry.key_of`); a resend still carries the same time, so it is
still found by key and confirmed on its bytes.

Every entry's key is recomputed from its stored event, `_CHUNK` rows at a time, with the index
dropped meanwhile. An event that does not unpack or parse, or has no time, keeps the key it
had: the audit reports that entry either way. The downgrade writes 0007's hash keys back. The
packing format is frozen, so this migration may import it.

Revision ID: 0009
Revises: 0008
"""

import hashlib
import math
from collections.abc import Callable
from datetime import datetime, timezone

import orjson
import sqlalchemy as sa
from alembic import op

from ledger.store.packing import PackError, unpack

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_CHUNK = 10_000
_HASH_BITS = 30
_EARLIEST, _LATEST = -(2**33), 2**33 - 1


def _ordered_key(event: bytes, old: int) -> int:
    """`ledger.log.entry.event_key` as of this revision (a migration keeps its own copy); `old` for an event it cannot read."""
    try:
        text = orjson.loads(event)["time"]
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError):
        return old
    if moment.tzinfo is None:
        return old
    seconds = min(max(math.floor(moment.astimezone(timezone.utc).timestamp()), _EARLIEST), _LATEST)
    return (seconds << _HASH_BITS) | int.from_bytes(hashlib.sha256(event).digest()[:4], "big") >> (32 - _HASH_BITS)


def _hash_key(event: bytes, _old: int) -> int:
    """0007's key: the first 8 bytes of the event's SHA-256 as a signed integer."""
    return int.from_bytes(hashlib.sha256(event).digest()[:8], "big", signed=True)


def _rekey(key: Callable[[bytes, int], int]) -> None:
    """Set every entry's `event_key` to `key(event bytes, stored key)`, a chunk at a time in seq order."""
    bind = op.get_bind()
    select = sa.text(f"SELECT seq, event, event_key FROM entry WHERE seq >= :start ORDER BY seq LIMIT {_CHUNK}")
    update = sa.text("UPDATE entry SET event_key = :key WHERE seq = :seq")
    op.drop_index('ix_entry_event_key', table_name='entry')
    start = 0
    while rows := bind.execute(select, {"start": start}).all():
        bind.execute(update, [{"seq": seq, "key": _rekeyed(key, stored, old)} for seq, stored, old in rows])
        start = rows[-1][0] + 1
    op.create_index('ix_entry_event_key', 'entry', ['event_key'])


def _rekeyed(key: Callable[[bytes, int], int], stored: bytes, old: int) -> int:
    try:
        return key(unpack(bytes(stored)), old)
    except PackError:  # a damaged value: the audit reports it
        return old


def upgrade() -> None:
    _rekey(_ordered_key)


def downgrade() -> None:
    _rekey(_hash_key)
