"""The bytes of a log entry: what its leaf hash commits to.

An entry is the RFC 8785 object {event, prev, recorded, seq, signature, signer}. Because the
event is already canonical and every other member is plain ASCII we write, the canonical
bytes are built by concatenation; `tests/ledger/test_entry.py` checks them against rfc8785.

`prev` is the previous entry's leaf hash: the table does not store it, readers take it from
entry seq-1. `event_key` is the short key the table indexes events by, to answer a resend.
"""

from __future__ import annotations

import hashlib
import re

from ledger.merkle import leaf_hash

__all__ = ["GENESIS_PREV", "entry_bytes", "entry_leaf_hash", "event_key", "key_of_hash"]

GENESIS_PREV = bytes(32)  # the "previous leaf hash" of entry 0
_PLAIN = re.compile(r"^[0-9A-Za-z:.\-]*$")


def entry_bytes(seq: int, prev_hash: bytes, recorded_at: str, event: bytes, signer: str, signature: str) -> bytes:
    """Canonical bytes of one entry (members in RFC 8785 order: event, prev, recorded, seq, signature, signer)."""
    for name, value in (("recorded_at", recorded_at), ("signer", signer), ("signature", signature)):
        if not _PLAIN.fullmatch(value):
            raise ValueError(f"{name} holds characters that would need JSON escaping: {value!r}")
    return b"".join(
        (
            b'{"event":',
            event,
            b',"prev":"',
            prev_hash.hex().encode(),
            b'","recorded":"',
            recorded_at.encode(),
            b'","seq":',
            str(seq).encode(),
            b',"signature":"',
            signature.encode(),
            b'","signer":"',
            signer.encode(),
            b'"}',
        )
    )


def entry_leaf_hash(seq: int, prev_hash: bytes, recorded_at: str, event: bytes, signer: str, signature: str) -> bytes:
    """SHA-256(0x00 || canonical entry bytes)."""
    return leaf_hash(entry_bytes(seq, prev_hash, recorded_at, event, signer, signature))


def event_key(event: bytes) -> int:
    """The first 8 bytes of SHA-256(event) as a signed big-endian integer: fits a BIGINT, indexes in 8 bytes.

    Not unique (a collision is possible, if unlikely): a lookup by key is confirmed on the event's bytes.
    Migration 0007 holds a copy of this function: change both or neither.
    """
    return key_of_hash(hashlib.sha256(event).digest())


def key_of_hash(event_hash: bytes) -> int:
    """`event_key` from the event's SHA-256 when it is already at hand (the append path has it)."""
    return int.from_bytes(event_hash[:8], "big", signed=True)
