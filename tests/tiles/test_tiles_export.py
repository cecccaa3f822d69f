"""`tracemark tiles export` as an operator runs it, and the exported folder served by Debian's nginx.

The same tlog-tiles client that reads `tracemark serve` reads nginx: the static tree is the one
the API serves, byte for byte, and a second export writes only what the log's growth changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api.keys import create_api_key
from ledger.config import Settings
from tests.reliability.processes import api_server
from tests.servers import nginx_serving_tiles
from tests.support import World
from tests.tile_logs import grow
from tests.tlog_client import TileClient, open_checkpoint, verify_consistency, verify_inclusion

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def export(settings: Settings, folder: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRACEMARK_ORIGIN": settings.origin, "COLUMNS": "200"}
    return subprocess.run([str(BIN / "tracemark"), "tiles", "export", str(folder), *flags, "--db", settings.db_url,
                           "--home", str(settings.home)], capture_output=True, text=True, env=env, timeout=120)


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its inode and modification time: what an export rewrote."""
    return {str(path.relative_to(folder)): (path.stat().st_ino, path.stat().st_mtime_ns)
            for path in folder.rglob("*") if path.is_file()}


def test_an_export_writes_the_tree_then_only_what_the_log_added(ledger, settings: Settings, tmp_path: Path) -> None:  # noqa: ANN001
    world, folder = World(ledger), tmp_path / "tiles"
    grow(world, 300)
    done = export(settings, folder, "--entries")
    assert done.returncode == 0, done.stderr
    assert "exported 300 entries" in done.stdout and "1 full and 2 partial tiles, 2 entry bundles" in done.stdout
    first = files(folder)
    assert set(first) == {"checkpoint", "tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1", "tile/entries/000", "tile/entries/001.p/44"}

    grow(world, 600)
    done = export(settings, folder, "--entries")
    assert done.returncode == 0, done.stderr
    assert "exported 600 entries" in done.stdout and "(since 300)" in done.stdout
    second = files(folder)
    rewritten = {path for path in second if first.get(path) != second[path]}
    assert rewritten == {"checkpoint", "tile/0/001", "tile/0/002.p/88", "tile/1/000.p/2", "tile/entries/001", "tile/entries/002.p/88"}

    again = export(settings, folder)
    assert again.returncode == 0 and "0 full and 0 partial tiles" in again.stdout
    assert {path for path, stamp in files(folder).items() if second[path] != stamp} == {"checkpoint"}


def test_an_export_refuses_a_folder_of_another_log(ledger, settings: Settings, tmp_path: Path) -> None:  # noqa: ANN001
    grow(World(ledger), 10)
    folder = tmp_path / "tiles"
    folder.mkdir()
    other = "another.example/log\n10\n" + "A" * 43 + "=\n\n\u2014 another.example/log AAAAAAAA\n"
    (folder / "checkpoint").write_text(other)
    done = export(settings, folder)
    assert done.returncode == 2
    assert "is a checkpoint of the log 'another.example/log'" in " ".join(done.stderr.split())
    assert (folder / "checkpoint").read_text() == other and files(folder).keys() == {"checkpoint"}


def test_nginx_serves_the_export_as_the_api_serves_the_log(ledger, settings: Settings, tmp_path: Path) -> None:  # noqa: ANN001
    world, folder = World(ledger), tmp_path / "tiles"
    grow(world, 300)
    assert export(settings, folder, "--entries").returncode == 0
    earlier = open_checkpoint((folder / "checkpoint").read_text(), settings.verifier_key())
    grow(world, 600)
    assert export(settings, folder, "--entries").returncode == 0

    with nginx_serving_tiles(folder, tmp_path / "nginx") as static, api_server(settings, tmp_path / "serve.log") as api:
        reader = TileClient(static + "/log/", settings.verifier_key())
        checkpoint = reader.checkpoint()
        assert checkpoint.size == 600 and reader.root(600) == checkpoint.root
        for seq in (0, 299, 300, 599):
            leaf, proof = reader.inclusion(seq, 600)
            verify_inclusion(leaf, seq, 600, proof, checkpoint.root)
        verify_consistency(300, 600, earlier.root, checkpoint.root, reader.consistency(300, 600))
        assert len([entry for index in range(3) for entry in reader.entries(index, 600)]) == 600

        token = {"Authorization": "Bearer " + create_api_key(ledger, "registry", "tiles").token}
        for path in sorted(p for p in files(folder) if p != "checkpoint"):
            from_nginx = httpx.get(f"{static}/log/{path}", headers={"accept-encoding": "identity"})
            from_api = httpx.get(f"{api}/log/{path}", headers={**token, "accept-encoding": "identity"})
            assert from_nginx.status_code == from_api.status_code == 200, path
            assert from_nginx.content == from_api.content, path
            for header in ("content-type", "cache-control"):
                assert from_nginx.headers[header] == from_api.headers[header], (path, header)
        assert httpx.get(f"{static}/log/tile/0/003").status_code == 404
        packed = httpx.get(f"{static}/log/tile/entries/000", headers={"accept-encoding": "gzip"})
        assert packed.headers.get("content-encoding") == "gzip"
        assert httpx.get(f"{static}/log/checkpoint").headers["content-type"] == "text/plain; charset=utf-8"


def check(settings: Settings, url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300"}
    key = [] if "--vkey" in flags else ["--vkey", settings.verifier_key()]
    return subprocess.run([str(BIN / "tracemark"), "tiles", "check", url, *key, *flags], capture_output=True, text=True, env=env, timeout=120)


def test_tiles_check_follows_a_growing_log_and_catches_a_changed_tile(ledger, settings: Settings, tmp_path: Path) -> None:  # noqa: ANN001
    world, folder, seen = World(ledger), tmp_path / "tiles", tmp_path / "seen.checkpoint"
    grow(world, 300)
    with api_server(settings, tmp_path / "serve.log") as api:
        first = check(settings, api + "/log/", "--save", str(seen))
        assert first.returncode == 0, first.stderr
        assert "OK test.tracemark.local/log: 300 entries" in first.stdout
        grow(world, 600)
        second = check(settings, api + "/log", "--since", str(seen))
        assert second.returncode == 0, second.stderr
        assert "600 entries" in second.stdout and "extends the earlier checkpoint of 300 entries" in second.stdout
    assert export(settings, folder).returncode == 0
    with nginx_serving_tiles(folder, tmp_path / "nginx") as static:
        assert check(settings, static + "/log/", "--since", str(seen)).returncode == 0
        edge, inner = folder / "tile" / "0" / "002.p" / "88", folder / "tile" / "0" / "001"
        kept = edge.read_bytes()
        edge.write_bytes(flipped(kept, 100))  # a leaf under the root's right edge
        changed = check(settings, static + "/log/")
        assert changed.returncode == 1
        assert "FAILED the tiles rebuild root" in " ".join(changed.stderr.split())
        edge.write_bytes(kept)
        inner.write_bytes(flipped(inner.read_bytes(), 100))  # a leaf the root reaches through a level-1 hash only
        assert check(settings, static + "/log/").returncode == 0
        forked = check(settings, static + "/log/", "--since", str(seen))
        assert forked.returncode == 1
        assert "does not extend the earlier checkpoint of size 300" in " ".join(forked.stderr.split())
        stranger = check(settings, static + "/log/", "--vkey", "another.example/log+" + settings.verifier_key().split("+", 1)[1])
        assert stranger.returncode != 0


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
