"""Where each hash tile and entry bundle of C2SP tlog-tiles sits, and which ones a tree of a size has.

A tile is a run of up to 256 consecutive Merkle Tree Hashes at one tile level: hash ``i`` of tile
``n`` at level ``l`` is MTH(D[(n * 256 + i) * 256**l : (n * 256 + i + 1) * 256**l]), the complete
subtree (Merkle level ``8 * l``, index ``n * 256 + i``) that the store keeps as one node. Its path
is ``tile/<l>/<n>[.p/<w>]`` (``tile/entries/<n>[.p/<w>]`` for the entries behind a level-0 tile),
``n`` written as zero-padded 3-digit groups, every group but the last prefixed with ``x``. Pure
functions, no I/O: the server, the export and their tests share them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.errors import LedgerError

__all__ = ["TILE_HEIGHT", "TILE_WIDTH", "MAX_LEVEL", "Tile", "TilePathError", "encode_index", "parse_tile_path", "tiles_of"]

TILE_HEIGHT = 8
"""Merkle levels a tile spans: its hashes are the nodes ``TILE_HEIGHT * level`` levels above the leaves."""
TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile (entries in a full bundle)."""
MAX_LEVEL = 63
"""The highest level a tile path may name."""

_INDEX = r"((?:x\d{3}/){0,20}\d{3})"  # 63 digits: more than any tree of 2**64 leaves needs
_WIDTH = r"(?:\.p/([1-9]\d{0,2}))?"
_TILE_PATH = re.compile(rf"(0|[1-9]\d?)/{_INDEX}{_WIDTH}")
_BUNDLE_PATH = re.compile(rf"entries/{_INDEX}{_WIDTH}")


class TilePathError(LedgerError):
    """A path that names no tile: not in tlog-tiles' encoding, or not its one spelling of the tile."""


@dataclass(frozen=True)
class Tile:
    """Tile ``index`` at ``level`` holding ``width`` hashes; with ``entries``, the entry bundle of level-0 tile ``index``."""

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_LEVEL or (self.entries and self.level):
            raise TilePathError(f"tile level must be 0 to {MAX_LEVEL} (0 for an entry bundle), got {self.level}")
        if self.index < 0:
            raise TilePathError(f"tile index must not be negative, got {self.index}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise TilePathError(f"tile width must be 1 to {TILE_WIDTH}, got {self.width}")

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def path(self) -> str:
        """Its path under the log's prefix: ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``."""
        kind = "entries" if self.entries else str(self.level)
        partial = "" if self.full else f".p/{self.width}"
        return f"tile/{kind}/{encode_index(self.index)}{partial}"

    @property
    def first(self) -> int:
        """Index of its first hash among the stored nodes of its Merkle level (the first entry's seq at level 0)."""
        return self.index * TILE_WIDTH

    @property
    def merkle_level(self) -> int:
        """The Merkle level of its hashes: 0 for leaf hashes."""
        return TILE_HEIGHT * self.level

    @property
    def end(self) -> int:
        """The tree size its hashes need: one past the last leaf they cover."""
        return (self.first + self.width) << self.merkle_level


def encode_index(index: int) -> str:
    """``index`` as tlog-tiles writes it: 1234067 -> ``x001/x234/067``, 5 -> ``005``."""
    if index < 0:
        raise TilePathError(f"tile index must not be negative, got {index}")
    digits = str(index)
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    groups = [digits[at : at + 3] for at in range(0, len(digits), 3)]
    return "/".join([*(f"x{group}" for group in groups[:-1]), groups[-1]])


def parse_tile_path(path: str, entries: bool = False) -> Tile:
    """The tile that ``path`` (after ``tile/``: ``<L>/<N>[.p/<W>]``, or ``entries/<N>[.p/<W>]``) names.

    Only the one spelling tlog-tiles gives each tile is accepted (no leading zero groups, no
    ``.p/256``), so that a tile has one URL and one file.
    """
    match = (_BUNDLE_PATH if entries else _TILE_PATH).fullmatch(path)
    if match is None:
        want = "entries/<N>[.p/<W>]" if entries else "<L>/<N>[.p/<W>]"
        raise TilePathError(f"not a tile path: {path[:120]!r} (want {want}, N in x-prefixed 3-digit groups)")
    *level, index, width = match.groups()
    tile = Tile(int(level[0]) if level else 0, int(index.replace("x", "").replace("/", "")),
                TILE_WIDTH if width is None else int(width), entries)
    if tile.width == TILE_WIDTH and width is not None:
        raise TilePathError(f"a tile of {TILE_WIDTH} hashes is full: {path!r} names it without .p/{width}")
    if tile.path != "tile/" + path:
        raise TilePathError(f"tile path {path[:120]!r} is not written as tlog-tiles writes it: {tile.path.removeprefix('tile/')!r}")
    return tile


def tiles_of(size: int, since: int = 0, entries: bool = False) -> list[Tile]:
    """The tiles a tree of ``size`` leaves has that a tree of ``since`` leaves did not: the new full
    tiles at every level, and each level's partial tile where it differs; bundles only with ``entries``.

    Level by level, bottom up, full tiles left to right and the partial one last.
    """
    if not 0 <= since <= size:
        raise TilePathError(f"tree sizes must grow: {since} -> {size}")
    tiles: list[Tile] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        hashes, before = size >> (TILE_HEIGHT * level), since >> (TILE_HEIGHT * level)
        for index in range(before // TILE_WIDTH, hashes // TILE_WIDTH):
            tiles.append(Tile(level, index))
            if entries and level == 0:
                tiles.append(Tile(0, index, entries=True))
        width = hashes % TILE_WIDTH
        if width and hashes != before:
            tiles.append(Tile(level, hashes // TILE_WIDTH, width))
            if entries and level == 0:
                tiles.append(Tile(0, hashes // TILE_WIDTH, width, entries=True))
        level += 1
    return tiles
