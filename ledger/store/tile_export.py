"""The log's tlog-tiles tree written as static files, for any web server to serve as they are.

An export writes what a tree of the checkpoint's size has and the previous export's did not: new
full tiles, each level's partial tile, and the checkpoint, last, so that a folder whose export was
cut short still holds a checkpoint every tile it names is there for. The previous export's size
is read from the checkpoint already in the folder, which must be one of this log's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import LedgerError
from ledger.log.checkpoint import parse_checkpoint
from ledger.log.tile_paths import TILE_WIDTH, Tile, tiles_of
from ledger.store.ledger import Ledger
from ledger.store.tiles import TileReader
from ledger.witness.cosigned import checkpoint_note

__all__ = ["TileExportError", "Exported", "export_tiles"]


class TileExportError(LedgerError):
    """The folder holds something an export must not write over (another log's tiles, a larger tree)."""


@dataclass(frozen=True)
class Exported:
    """What one export wrote: the tree size and how many tiles of each kind."""

    size: int
    since: int
    full: int
    partial: int
    bundles: int


def _previous_size(ledger: Ledger, folder: Path, size: int) -> int:
    """The tree size of the export already in `folder` (0 for none), checked to be this log's."""
    path = folder / "checkpoint"
    if not path.exists():
        return 0
    try:
        previous = parse_checkpoint(path.read_text(encoding="utf-8"))
    except (LedgerError, UnicodeDecodeError) as exc:
        raise TileExportError(f"{path} is not a checkpoint ({exc}); export to an empty folder, or with --full over it") from exc
    if previous.origin != ledger.origin:
        raise TileExportError(f"{path} is a checkpoint of the log {previous.origin!r}, not of this log {ledger.origin!r}")
    if previous.size > size:
        raise TileExportError(f"{path} covers {previous.size} entries, more than this log's {size}")
    if previous.size and ledger.root(previous.size) != previous.root:
        raise TileExportError(f"{path} has another root at size {previous.size} than this log: not this log's tiles")
    return previous.size


def _has_bundles(folder: Path, size: int) -> bool:
    """Whether `folder` holds the entry bundle that ends at `size` (an export of that size made with them)."""
    if size == 0:
        return True
    last = Tile(0, size // TILE_WIDTH, size % TILE_WIDTH, entries=True) if size % TILE_WIDTH else Tile(0, size // TILE_WIDTH - 1, entries=True)
    return (folder / last.path).exists()


def _write(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all (a reader never sees half a tile)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(data)
    os.replace(partial, path)


def export_tiles(ledger: Ledger, folder: Path, entries: bool = False, full: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> Exported:
    """Write the log's checkpoint and tiles (and, with `entries`, its entry bundles) under `folder`.

    Only what changed since the export already there is written, unless `full`. Entry bundles
    hold event bodies: a folder exported with them must be served only to those who may read them.
    """
    note = checkpoint_note(ledger)
    size = parse_checkpoint(note).size
    since = 0 if full else _previous_size(ledger, folder, size)
    tiles = tiles_of(size, since)
    if entries:
        bundles_since = since if _has_bundles(folder, since) else 0
        tiles += [tile for tile in tiles_of(size, bundles_since, entries=True) if tile.entries]
    reader = TileReader(ledger, keep=1)
    for done, tile in enumerate(tiles, 1):
        _write(folder / tile.path, reader.read(tile))
        if progress is not None:
            progress(done, len(tiles))
    _write(folder / "checkpoint", note.encode("utf-8"))
    hashes = [tile for tile in tiles if not tile.entries]
    return Exported(size, since, sum(tile.full for tile in hashes), sum(not tile.full for tile in hashes), len(tiles) - len(hashes))
