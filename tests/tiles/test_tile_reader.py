"""Tiles come from the Merkle nodes the store keeps, and bundles from the entries' stored bytes."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.errors import StoreError
from ledger.log.merkle import leaf_hash, node_hash
from ledger.log.tile_paths import Tile
from ledger.store.tiles import TileBeyondTree, TileReader
from tests.support import World
from tests.tile_logs import grow


def test_a_tile_is_the_stored_nodes_not_the_leaves_hashed_again(sqlite_ledger) -> None:  # noqa: ANN001
    grow(World(sqlite_ledger), 520)
    reader = TileReader(sqlite_ledger)
    leaves = reader.read(Tile(0, 0))
    layer = [leaves[i : i + 32] for i in range(0, 8192, 32)]
    while len(layer) > 1:
        layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    assert reader.read(Tile(1, 0, 2))[:32] == layer[0]

    with sqlite_ledger.db.writer.begin() as db:
        db.execute(text("UPDATE merkle_node SET hash = :h WHERE level = 8 AND idx = 1"), {"h": bytes(32)})
    assert reader.read(Tile(1, 0, 2))[32:] == bytes(32), "read from the stored node"
    with sqlite_ledger.db.writer.begin() as db:
        db.execute(text("DELETE FROM merkle_node WHERE level = 8 AND idx = 1"))
    with pytest.raises(StoreError, match="holds 1 of its 2 hashes"):
        reader.read(Tile(1, 0, 2))
    with pytest.raises(TileBeyondTree, match="needs a tree of 768 entries; the log holds 520"):
        reader.read(Tile(0, 2))


def test_a_bundle_entry_hashes_to_its_leaf_or_is_not_served(sqlite_ledger) -> None:  # noqa: ANN001
    grow(World(sqlite_ledger), 300)
    reader = TileReader(sqlite_ledger)
    bundle, leaves = reader.read(Tile(0, 1, 44, entries=True)), reader.read(Tile(0, 1, 44))
    first = bundle[2 : 2 + int.from_bytes(bundle[:2], "big")]
    assert leaf_hash(first) == leaves[:32] and b'"seq":256,' in first
    with sqlite_ledger.db.writer.begin() as db:
        db.execute(text("UPDATE entry SET recorded_at = '2020-01-01T00:00:00Z' WHERE seq = 260"))
    with pytest.raises(StoreError, match="entry 260: its stored bytes do not hash to its leaf hash"):
        reader.read(Tile(0, 1, 44, entries=True))
