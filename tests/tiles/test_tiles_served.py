"""`tracemark serve` read by a tlog-tiles client over HTTP, on SQLite and on PostgreSQL.

The client (`tests.tlog_client`) knows the C2SP texts and the log's verifier key, nothing of the
server: it recomputes each checkpoint's root from the tiles, proves entries and the log's growth
from tiles, and checks every entry of a bundle against its leaf hash.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.keys import create_api_key
from ledger.config import Settings
from tests.reliability.processes import api_server
from tests.support import World
from tests.tile_logs import grow
from tests.tlog_client import ClientError, TileClient, verify_consistency, verify_inclusion

FIRST, GROWN = 600, 800
"""600 entries: two full level-0 tiles, a partial one of 88 and a level-1 tile of width 2."""


@pytest.fixture
def served(ledger, settings: Settings, tmp_path: Path) -> Iterator[tuple[World, str]]:  # noqa: ANN001
    world = World(ledger)
    grow(world, FIRST)
    with api_server(settings, tmp_path / "serve.log") as url:
        yield world, url


def client(url: str, settings: Settings) -> TileClient:
    return TileClient(url + "/log/", settings.verifier_key())


def test_a_client_rebuilds_the_root_and_proves_entries_and_growth_from_tiles(served, settings: Settings) -> None:  # noqa: ANN001
    world, url = served
    reader = client(url, settings)
    first = reader.checkpoint()
    assert (first.origin, first.size) == (settings.origin, FIRST)
    assert reader.root(first.size) == first.root
    for seq in (0, 1, 255, 256, 511, 512, FIRST - 1):
        leaf, proof = reader.inclusion(seq, first.size)
        verify_inclusion(leaf, seq, first.size, proof, first.root)
        served_proof = httpx.get(f"{url}/v1/proofs/inclusion", params={"seq": seq, "size": first.size}).json()
        assert (leaf.hex(), [h.hex() for h in proof]) == (served_proof["leaf_hash"], served_proof["proof"])
    kept = {path: data for path, data in reader.fetched.items() if ".p/" not in path}

    grow(world, GROWN)
    later = client(url, settings)
    second = later.checkpoint()
    assert second.size == GROWN and later.root(GROWN) == second.root
    for old in (1, 255, 256, 257, 512, FIRST):
        proof = later.consistency(old, GROWN)
        verify_consistency(old, GROWN, later.root(old), second.root, proof)
    verify_consistency(FIRST, GROWN, first.root, second.root, later.consistency(FIRST, GROWN))
    with pytest.raises(ClientError):
        verify_consistency(FIRST, GROWN, hashlib.sha256(b"another tree").digest(), second.root, later.consistency(FIRST, GROWN))
    assert all(later.get(path).content == data for path, data in kept.items()), "a full tile never changes"


def test_tiles_are_served_as_tlog_tiles_says(served, settings: Settings) -> None:  # noqa: ANN001
    _, url = served
    get = lambda path: httpx.get(f"{url}/log/{path}")  # noqa: E731
    checkpoint = get("checkpoint")
    assert checkpoint.headers["content-type"] == "text/plain; charset=utf-8"
    assert checkpoint.headers["cache-control"] == "no-cache"
    full, partial, level1 = get("tile/0/001"), get("tile/0/002.p/88"), get("tile/1/000.p/2")
    for tile, size in ((full, 8192), (partial, 88 * 32), (level1, 64)):
        assert tile.status_code == 200 and len(tile.content) == size
        assert tile.headers["content-type"] == "application/octet-stream"
    assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert partial.headers["cache-control"] == level1.headers["cache-control"] == "public, max-age=60"
    # a level-1 hash is the Merkle Tree Hash of a full level-0 tile; the partial one is in no level-1 hash
    for index in (0, 1):
        layer = [get(f"tile/0/00{index}").content[i : i + 32] for i in range(0, 8192, 32)]
        while len(layer) > 1:
            layer = [hashlib.sha256(b"\x01" + layer[i] + layer[i + 1]).digest() for i in range(0, len(layer), 2)]
        assert level1.content[32 * index : 32 * index + 32] == layer[0]
    for first in (full, partial):  # asked again, a tile is answered from the server's memory: the same answer
        again = httpx.get(str(first.url))
        assert (again.content, again.headers["content-type"], again.headers["cache-control"]) == (
            first.content, first.headers["content-type"], first.headers["cache-control"])
    # narrower partial tiles are prefixes of wider ones: every width of a tree the log had
    assert get("tile/0/002.p/5").content == partial.content[: 5 * 32]

    for beyond in ("tile/0/003", "tile/0/002", "tile/0/002.p/89", "tile/1/000", "tile/1/001.p/1", "tile/2/000.p/1", "tile/5/x001/000"):
        response = get(beyond)
        assert response.status_code == 404, beyond
        assert f"the log holds {FIRST}" in response.json()["detail"]
    for malformed in ("tile/01/000", "tile/64/000", "tile/0/0000", "tile/0/x000/001", "tile/0/000.p/0", "tile/0/000.p/256",
                      "tile/0/000.p/010", "tile/0/abc", "tile/0/000/"):
        response = get(malformed)
        assert response.status_code == 400, malformed
        assert "tile" in response.json()["detail"]


def test_entry_bundles_hold_the_leaf_inputs_and_need_a_reader_of_event_bodies(served, ledger, settings: Settings) -> None:  # noqa: ANN001
    _, url = served
    reader = client(url, settings)
    size = reader.checkpoint().size
    auditor = {"authorization": "Bearer " + create_api_key(ledger, "investigator", "tiles").token}
    dealer = {"authorization": "Bearer " + create_api_key(ledger, "de-jagd-schmidt", "tiles").token}

    assert reader.get("tile/entries/000").status_code == 401
    assert reader.get("tile/entries/000", **dealer).status_code == 403
    entries = [entry for index in range(3) for entry in reader.entries(index, size, **auditor)]
    assert len(entries) == FIRST
    assert entries[0].startswith(b'{"event":{"actor":"registry"') and b'"seq":0,' in entries[0]
    assert entries[-1].endswith(b'"}') and f'"seq":{FIRST - 1},'.encode() in entries[-1]

    with httpx.stream("GET", f"{url}/log/tile/entries/001", headers={**auditor, "accept-encoding": "gzip"}) as packed:
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.headers["cache-control"] == "private, max-age=31536000, immutable"
        wire = b"".join(packed.iter_raw())
    plain = httpx.get(f"{url}/log/tile/entries/001", headers={**auditor, "accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert len(wire) < len(plain.content) and gzip.decompress(wire) == plain.content
    assert httpx.get(f"{url}/log/tile/entries/002.p/88", headers=auditor).headers["cache-control"] == "private, max-age=60"
    assert httpx.get(f"{url}/log/tile/entries/003", headers=auditor).status_code == 404
    assert httpx.get(f"{url}/log/tile/entries/00", headers=auditor).status_code == 400
    assert httpx.get(f"{url}/log/tile/entries/000.p/256", headers=auditor).status_code == 400
