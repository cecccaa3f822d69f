"""Tile paths and the tiles a tree has, as C2SP tlog-tiles writes them."""

from __future__ import annotations

import pytest

from ledger.log.tile_paths import Tile, TilePathError, encode_index, parse_tile_path, tiles_of


@pytest.mark.parametrize(("index", "encoded"), [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")])
def test_an_index_is_written_in_x_prefixed_three_digit_groups(index: int, encoded: str) -> None:
    assert encode_index(index) == encoded
    assert parse_tile_path(f"0/{encoded}") == Tile(0, index)


def test_a_tree_of_70000_has_the_tiles_the_spec_lists() -> None:
    tiles = tiles_of(70_000)
    level0 = [t for t in tiles if t.level == 0]
    assert [t for t in level0 if t.full] == [Tile(0, n) for n in range(273)]
    assert [t for t in level0 if not t.full] == [Tile(0, 273, 112)]
    assert [t for t in tiles if t.level == 1] == [Tile(1, 0), Tile(1, 1, 17)]
    assert [t for t in tiles if t.level == 2] == [Tile(2, 0, 1)]
    assert max(t.level for t in tiles) == 2


def test_a_tree_of_256_has_a_full_level_0_tile_and_a_level_1_tile_of_width_1() -> None:
    assert tiles_of(256) == [Tile(0, 0), Tile(1, 0, 1)]
    assert tiles_of(0) == []


def test_a_grown_tree_adds_new_full_tiles_and_the_partial_tiles_that_changed() -> None:
    assert tiles_of(600, 300) == [Tile(0, 1), Tile(0, 2, 88), Tile(1, 0, 2)]
    assert tiles_of(600, 520) == [Tile(0, 2, 88)]  # level 1 still holds two hashes
    assert tiles_of(600, 600) == []
    assert tiles_of(512, 300, entries=True) == [Tile(0, 1), Tile(0, 1, entries=True), Tile(1, 0, 2)]


def test_paths_name_partial_tiles_and_entry_bundles() -> None:
    assert Tile(0, 2, 88).path == "tile/0/002.p/88"
    assert Tile(0, 1234067, entries=True).path == "tile/entries/x001/x234/067"
    assert parse_tile_path("entries/002.p/88", entries=True) == Tile(0, 2, 88, entries=True)
    assert parse_tile_path("63/000") == Tile(63, 0)
    assert Tile(1, 1, 17).end == (256 + 17) * 256


@pytest.mark.parametrize("path", ["01/000", "64/000", "-1/000", "0/00", "0/0000", "0/x000/001", "0/001/x002", "0/000.p/0",
                                  "0/000.p/256", "0/000.p/010", "0/000.p/", "0/000/", "0/abc", "entries/000", "0/" + "x000/" * 30 + "001"])
def test_a_path_not_in_the_one_spelling_of_a_tile_is_refused(path: str) -> None:
    with pytest.raises(TilePathError):
        parse_tile_path(path)


def test_a_bundle_path_has_no_level() -> None:
    with pytest.raises(TilePathError):
        parse_tile_path("0/000", entries=True)
