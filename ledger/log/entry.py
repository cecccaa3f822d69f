"""The bytes of a log entry: what its leaf hash commits to.

An entry is the RFC 8785 object {event, prev, recorded, seq, signature, signer}, with
`"imported": true` after the event when the log's authority imported it from an earlier registry
(its time may then lie before the reporting window): the leaf hash commits to the mark, so no
reader can be told an imported entry was reported live, nor the reverse. Because the
event is already canonical and every other member is plain ASCII we write, the canonical
bytes are built by concatenation; `tests/ledger/log/test_entry.py` checks them against rfc8785.

`prev` is the previous entry's leaf hash: the table does not store it, readers take it from
entry seq-1. `event_key` is the short key the table indexes events by, to answer a resend.
"""

from __future__ import annotations

import hashlib
import math
import re

import orjson

from ledger.errors import EventTooLarge
from ledger.log.codec import parse_time
from ledger.log.merkle import leaf_hash

__all__ = ["GENESIS_PREV", "MAX_ENTRY_SIZE", "entry_bytes", "entry_leaf_hash", "entry_size_bound", "check_entry_size", "event_key",
           "key_of"]

GENESIS_PREV = bytes(32)  # the "previous leaf hash" of entry 0
MAX_ENTRY_SIZE = 0xFFFF
"""The longest entry a C2SP tlog-tiles entry bundle can carry: each entry follows its length as a big-endian uint16."""
_PLAIN = re.compile(r"^[0-9A-Za-z:.\-]*$")


def entry_bytes(seq: int, prev_hash: bytes, recorded_at: str, event: bytes, signer: str, signature: str,
                imported: bool = False) -> bytes:
    """Canonical bytes of one entry (members in RFC 8785 order: event, imported, prev, recorded, seq, signature, signer)."""
    for name, value in (("recorded_at", recorded_at), ("signer", signer), ("signature", signature)):
        if not _PLAIN.fullmatch(value):
            raise ValueError(f"{name} holds characters that would need JSON escaping: {value!r}")
    return b"".join(
        (
            b'{"event":',
            event,
            b',"imported":true' if imported else b"",
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


_LATEST_TIME = "9999-12-31T23:59:59.999Z"
"""The longest `recorded` member format_time writes."""


def entry_size_bound(event: bytes, signer: str, signature: str) -> int:
    """The most bytes an entry of this event can take, whatever its seq (up to 2**64 - 1), time and import mark."""
    return len(entry_bytes(2**64 - 1, GENESIS_PREV, _LATEST_TIME, b"", "", "", imported=True)) + len(event) + len(signer) + len(signature)


def check_entry_size(event: bytes, signer: str, signature: str) -> None:
    """Refuse an event whose entry could not be served in an entry bundle (EventTooLarge), before it is logged."""
    size = entry_size_bound(event, signer, signature)
    if size > MAX_ENTRY_SIZE:
        raise EventTooLarge(size, MAX_ENTRY_SIZE)


def entry_leaf_hash(seq: int, prev_hash: bytes, recorded_at: str, event: bytes, signer: str, signature: str,
                    imported: bool = False) -> bytes:
    """SHA-256(0x00 || canonical entry bytes)."""
    return leaf_hash(entry_bytes(seq, prev_hash, recorded_at, event, signer, signature, imported))


def event_key(event: bytes) -> int:
    """The event's index key (`key_of`) from its canonical bytes alone, for callers without the parsed event.

    Migration 0009 holds a copy of `key_of`: change both or neither.
    """
    return key_of(hashlib.sha256(event).digest(), orjson.loads(event)["time"])


_KEY_HASH_BITS = 30
_EARLIEST, _LATEST = -(2**33), 2**33 - 1  # seconds, 1698 to 2242: shifted past the hash bits they still fit a signed BIGINT


def key_of(event_hash: bytes, time: str) -> int:
    """A BIGINT that sorts by the event's own time: its second above 30 bits of its SHA-256.

    Events arrive in about the order of their times, so new keys land at the index's right edge.
    A key from the hash alone put each one on a random leaf of a 10^7-entry index: a batch
    dirtied a page per event, and appends wrote 10 KB an event at 10^6 entries, slowing as the
    log grew. Not unique: a lookup by key is confirmed on the event's bytes.
    """
    seconds = min(max(math.floor(parse_time(time).timestamp()), _EARLIEST), _LATEST)
    return (seconds << _KEY_HASH_BITS) | int.from_bytes(event_hash[:4], "big") >> (32 - _KEY_HASH_BITS)
