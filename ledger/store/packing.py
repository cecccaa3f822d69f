"""Stored JSON, deflated against a preset dictionary of the log's own vocabulary.

Most of an event's bytes are its keys, its type and enumeration names, and values that recur
(countries, calibres, times of the same year): a few hundred bytes that DEFLATE alone barely
shrinks, because one event is too short to repeat itself. Primed with a dictionary holding
that vocabulary (RFC 1951 with a preset dictionary, as zlib offers it), a marking of 270 bytes
is stored in 80 to 120, depending on how many of its values the dictionary already holds. The packed form is a storage detail only: what is read back is the
exact bytes that were written, and every hash and signature covers those, never the packing.

A stored value starts with a tag byte:

- `{` (0x7B): plain JSON, as rows were written before packing (and kept so when packing would
  not make them smaller);
- 0x01: raw DEFLATE against dictionary 1 (`packing_v1.zdict`: the demo log's events, one of
  each type, the most frequent last, after the names of every event field).

A dictionary never changes once data was packed with it (its SHA-256 is pinned below); a better
one would take a new tag, and the old one stays readable.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import Any

import orjson

from ledger.errors import StoreError

__all__ = ["PackError", "Prepacked", "pack", "unpack", "pack_object", "unpack_object"]

_PLAIN = ord("{")
_V1 = 1
_V1_SHA256 = "ac72334a920fb54bf7e1ca8111825a5801f3aacf001953b4cbf73368c76fb2c0"


class PackError(StoreError):
    """A stored value is not plain JSON nor a packing this code can read: damaged or foreign."""


def _dictionary(name: str, sha256: str) -> bytes:
    data = Path(__file__).with_name(name).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise PackError(f"{name} is not the dictionary stored values were packed with")
    return data


_V1_DICTIONARY = _dictionary("packing_v1.zdict", _V1_SHA256)
# Priming the compressor hashes the whole dictionary: done once here, then copied per value.
# An 8 KB window holds the dictionary; memLevel 4 is as small as our values need and quicker.
# Level 3 rather than zlib's default 6: 1.5 µs quicker per value (two per marking on the appending
# thread) for 1 to 2 bytes more. The level is the compressor's choice only: any level inflates alike.
_V1_PRIMED = zlib.compressobj(3, zlib.DEFLATED, -13, 4, zlib.Z_DEFAULT_STRATEGY, _V1_DICTIONARY)


def pack(data: bytes) -> bytes:
    """`data` (JSON text starting with `{`) as it is stored: deflated, unless that is no smaller."""
    if not data.startswith(b"{"):
        raise PackError(f"only JSON objects are packed, got {data[:12]!r}")
    deflate = _V1_PRIMED.copy()
    packed = deflate.compress(data) + deflate.flush()
    return bytes((_V1,)) + packed if len(packed) < len(data) - 1 else data


class Prepacked(bytes):
    """JSON bytes whose packed form is made already (by a worker process, `ledger.store.recovery`):
    they read as the JSON itself, and `PackedBytes` stores `packed` without packing them again."""

    packed: bytes


def unpack(stored: bytes) -> bytes:
    """The bytes that `pack` was given; `PackError` if `stored` is neither form."""
    if not stored or stored[0] == _PLAIN:
        return stored
    if stored[0] != _V1:
        raise PackError(f"unknown packing tag {stored[0]:#04x}")
    inflate = zlib.decompressobj(-15, zdict=_V1_DICTIONARY)
    try:
        data = inflate.decompress(stored[1:]) + inflate.flush()
    except zlib.error as exc:
        raise PackError(f"packed value is damaged: {exc}") from exc
    if not inflate.eof or inflate.unused_data:
        raise PackError("packed value is damaged: it does not end where its DEFLATE stream does")
    return data


def pack_object(value: dict[str, Any]) -> bytes:
    """A JSON object of a projection row (item facts, a custody chain) as compact JSON, packed.

    Encoded by orjson: these bytes are nobody's signed form, only stored, and the standard
    library's encoder took as long as the packing itself, twice for every marking.
    """
    return pack(orjson.dumps(value))


def unpack_object(stored: bytes) -> dict[str, Any]:
    value = orjson.loads(unpack(stored))
    if not isinstance(value, dict):
        raise PackError("the stored value is not a JSON object")
    return value
