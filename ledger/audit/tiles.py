"""Check a log served as tlog-tiles from outside, as a monitor does: with its verifier key and HTTP alone.

`check_tiles` fetches the checkpoint, verifies its signature, rebuilds its root from the hash tiles
and, given a checkpoint seen earlier, proves from tiles that the log only grew since. A Merkle
hash between two tile levels is rebuilt from the tile below it, as tlog-tiles says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ledger.errors import LedgerError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, verify_checkpoint
from ledger.log.merkle import HASH_SIZE
from ledger.log.tile_paths import TILE_HEIGHT, TILE_WIDTH, Tile

__all__ = ["TileCheckError", "Checked", "check_tiles"]


class TileCheckError(LedgerError):
    """The log at the URL cannot be read, or what it serves does not check out."""


@dataclass(frozen=True)
class Checked:
    """A verified checkpoint whose root the tiles rebuild, and the earlier size it was proven to extend."""

    checkpoint: Checkpoint
    note: str
    tiles: int
    extends: int | None


class _TileSource:
    """A log's hash tiles over HTTP, for a tree of one size, each fetched once."""

    def __init__(self, get: Callable[[str], bytes], size: int) -> None:
        self._get, self._size = get, size
        self._tiles: dict[Tile, bytes] = {}

    @property
    def fetched(self) -> int:
        return len(self._tiles)

    def _tile(self, level: int, index: int) -> bytes:
        hashes = self._size >> (TILE_HEIGHT * level)
        tile = Tile(level, index, min(TILE_WIDTH, hashes - index * TILE_WIDTH))
        if tile not in self._tiles:
            data = self._get(tile.path)
            if len(data) != HASH_SIZE * tile.width:
                raise TileCheckError(f"{tile.path} is {len(data)} bytes, want {HASH_SIZE * tile.width}")
            self._tiles[tile] = data
        return self._tiles[tile]

    def node(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree (level, index), from the tile at or below its level."""
        tile_level, above = divmod(level, TILE_HEIGHT)
        first = index << above
        data = self._tile(tile_level, first // TILE_WIDTH)
        at = first % TILE_WIDTH
        layer = [data[HASH_SIZE * i : HASH_SIZE * (i + 1)] for i in range(at, at + (1 << above))]
        while len(layer) > 1:
            layer = [merkle.node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
        return layer[0]

    def range_hash(self, lo: int, hi: int) -> bytes:
        return merkle.range_root([self.node(level, index) for level, index in merkle.complete_subtrees(lo, hi)])


def _fetcher(client: httpx.Client, prefix: str) -> Callable[[str], bytes]:
    def get(path: str) -> bytes:
        try:
            response = client.get(prefix + path)
        except httpx.HTTPError as exc:
            raise TileCheckError(f"cannot fetch {prefix + path}: {exc}") from exc
        if response.status_code != 200:
            raise TileCheckError(f"{prefix + path} answered HTTP {response.status_code}")
        return response.content

    return get


def check_tiles(url: str, vkey: str, origin: str | None = None, earlier: str | None = None) -> Checked:
    """Check the tlog-tiles log at `url` (its prefix, e.g. https://host/log/) against verifier key `vkey`.

    With `earlier` (a checkpoint note this log signed before), also prove from tiles that the
    current tree extends it. Every failure raises `TileCheckError` or `CheckpointError` saying what.
    """
    prefix = url if url.endswith("/") else url + "/"
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        get = _fetcher(client, prefix)
        note = get("checkpoint").decode("utf-8", errors="replace")
        checkpoint = verify_checkpoint(note, vkey, origin)
        tiles = _TileSource(get, checkpoint.size)
        root = tiles.range_hash(0, checkpoint.size) if checkpoint.size else merkle.EMPTY_ROOT
        if root != checkpoint.root:
            raise TileCheckError(f"the tiles rebuild root {root.hex()} for size {checkpoint.size}, "
                                 f"but the checkpoint signs {checkpoint.root.hex()}")
        extends = None
        if earlier is not None:
            before = verify_checkpoint(earlier, vkey, checkpoint.origin)
            if before.size > checkpoint.size:
                raise TileCheckError(f"the log shrank: the earlier checkpoint has {before.size} entries, the current {checkpoint.size}")
            proof = [tiles.range_hash(lo, hi) for lo, hi in merkle.consistency_ranges(before.size, checkpoint.size)]
            try:
                merkle.verify_consistency(before.size, checkpoint.size, before.root, checkpoint.root, proof)
            except merkle.ProofError as exc:
                raise TileCheckError(f"the log at size {checkpoint.size} does not extend the earlier checkpoint "
                                     f"of size {before.size}: {exc}") from exc
            extends = before.size
    return Checked(checkpoint, note, tiles.fetched, extends)
