"""The log as C2SP tlog-tiles: its hash tiles and entry bundles, read from the store (the checkpoint they
are published with is `ledger.witness.cosigned.checkpoint_note`).

A tile's hashes are stored Merkle nodes (leaf hashes at level 0), read as one range of rows by
primary key and never recomputed from the leaves. An entry bundle holds each entry's bytes
(`ledger.log.entry.entry_bytes`, the leaf input whose RFC 9162 leaf hash is the leaf), each after its
length as a big-endian uint16. A full tile or bundle never changes once its last leaf is logged,
so a `TileReader` keeps the most recently read ones.
"""

from __future__ import annotations

import struct
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam
from sqlmodel import col

from ledger.bounded import Bounded
from ledger.errors import NotFound, StoreError
from ledger.log.entry import GENESIS_PREV, MAX_ENTRY_SIZE, entry_bytes
from ledger.log.merkle import HASH_SIZE, leaf_hash
from ledger.log.tile_paths import Tile
from ledger.store.ledger import Ledger
from ledger.store.snapshot import Snapshot, rows_of
from ledger.store.tables import Entry

__all__ = ["TileReader", "TileBeyondTree", "EntryTooLarge", "MAX_ENTRY_SIZE"]

_KEEP_FULL = 2048
"""Full tiles and bundles a reader keeps: 16 MiB of hash tiles at most, a bundle some 200 KiB."""


class TileBeyondTree(NotFound):
    """A tile or bundle whose hashes the log does not have (yet): its tree is larger than the log."""

    def __init__(self, tile: Tile, size: int) -> None:
        super().__init__("tile", tile.path)
        self.args = (f"{tile.path} needs a tree of {tile.end} entries; the log holds {size}",)


class EntryTooLarge(StoreError):
    """An entry longer than an entry bundle's uint16 length prefix can say (appends refuse such events:
    only a log written before they did can hold one)."""


@cache
def _entries_between() -> Select[Any]:
    return rows_of(Entry).where(col(Entry.seq) >= bindparam("lo"), col(Entry.seq) < bindparam("hi")).order_by(col(Entry.seq))


def _size(reads: Snapshot) -> int:
    rows = reads.raw("SELECT seq FROM entry ORDER BY seq DESC LIMIT 1")
    return rows[0][0] + 1 if rows else 0


class TileReader:
    """One ledger's tiles and bundles, the full ones kept once read (at most `keep` of them)."""

    def __init__(self, ledger: Ledger, keep: int = _KEEP_FULL) -> None:
        self.ledger = ledger
        self.keep = keep
        self._full: Bounded[Tile, bytes] = Bounded(keep)

    def kept(self, tile: Tile) -> bytes | None:
        """The full tile's bytes if this reader has read them before: no database read."""
        return self._full.get(tile) if tile.full else None

    def read(self, tile: Tile) -> bytes:
        """The tile's bytes (the bundle's, for an entry bundle); `TileBeyondTree` if the log is too small."""
        kept = self.kept(tile)
        if kept is not None:
            return kept
        with Snapshot(self.ledger.db) as reads:
            size = _size(reads)
            if tile.end > size:
                raise TileBeyondTree(tile, size)
            data = self._bundle(reads, tile) if tile.entries else self._hashes(reads, tile)
        if tile.full:
            self._full.update({tile: data})
        return data

    @staticmethod
    def _hashes(reads: Snapshot, tile: Tile) -> bytes:
        lo, hi = tile.first, tile.first + tile.width
        if tile.level == 0:
            sql = f"SELECT leaf_hash FROM entry WHERE seq >= {lo} AND seq < {hi} ORDER BY seq"
        else:
            sql = f"SELECT hash FROM merkle_node WHERE level = {tile.merkle_level} AND idx >= {lo} AND idx < {hi} ORDER BY idx"
        hashes = [bytes(row[0]) for row in reads.raw(sql)]
        if len(hashes) != tile.width or any(len(h) != HASH_SIZE for h in hashes):
            raise StoreError(f"{tile.path}: the store holds {len(hashes)} of its {tile.width} hashes (or a damaged one)")
        return b"".join(hashes)

    @staticmethod
    def _bundle(reads: Snapshot, tile: Tile) -> bytes:
        lo, hi = tile.first, tile.first + tile.width
        rows = reads.all(Entry, _entries_between(), {"lo": lo, "hi": hi})
        if len(rows) != tile.width:
            raise StoreError(f"{tile.path}: the store holds {len(rows)} of its {tile.width} entries")
        before = reads.raw(f"SELECT leaf_hash FROM entry WHERE seq = {lo - 1}") if lo else [(GENESIS_PREV,)]
        prev = bytes(before[0][0])
        out: list[bytes] = []
        for row in rows:
            data = entry_bytes(row.seq, prev, row.recorded_at, row.event, row.signer, row.signature, row.imported)
            if leaf_hash(data) != bytes(row.leaf_hash):
                raise StoreError(f"entry {row.seq}: its stored bytes do not hash to its leaf hash (run `tracemark verify`)")
            if len(data) > MAX_ENTRY_SIZE:
                raise EntryTooLarge(f"entry {row.seq} is {len(data)} bytes; an entry bundle carries at most {MAX_ENTRY_SIZE}")
            out += (struct.pack(">H", len(data)), data)
            prev = bytes(row.leaf_hash)
        return b"".join(out)
