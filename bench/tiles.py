"""Hash tiles served per second by `tracemark serve`, against nginx serving the same exported bytes.

The log is the proofs benchmark's synthetic one (`bench.proofs.synthetic_log`: its tiles are read
from the same entry and merkle_node rows as a real log's), exported with `ledger.store.tile_export`.
One `tracemark serve` process and one nginx process (`deploy/nginx-tiles.conf`) are loaded the
same way in the same run, by `wrk` GETting every hash tile of the tree round robin. Every answer
from the API is first checked byte for byte against the exported file nginx serves. A bare ASGI
app answering a constant tile under uvicorn (`bench._bare_tile`) is loaded the same way too: the
most any Python server process answers on this machine, reported beside the ratio to nginx.

    python -m bench.tiles [--quick]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench._common import Row, cli, note
from bench._http import _free_port, _server, blast_gets, tracemark_server
from bench.proofs import synthetic_log, synthetic_settings
from ledger.store.tile_export import export_tiles
from tests.servers import nginx_serving_tiles

__all__ = ["run", "SIZES"]

SIZES = {False: 500_000, True: 100_000}
"""Entries of the log: 1,953 and 390 full level-0 tiles, all of which a server process keeps in memory once read."""
CLIENTS = 16
TARGET = 0.8
ROUNDS = 3


def _check(api: str, folder: Path, paths: list[str]) -> None:
    """Each tile as the API serves it is the exported file (and so nginx's answer)."""
    with httpx.Client(base_url=api, timeout=30) as client:
        for path in paths:
            served = client.get(path)
            if served.status_code != 200 or served.content != (folder / path.removeprefix("/log/")).read_bytes():
                raise AssertionError(f"{path}: the API's answer ({served.status_code}) is not the exported tile")


def _bare_tile_server(folder: Path):  # noqa: ANN202  (a context manager of the base URL)
    port = _free_port()
    args = [sys.executable, "-m", "uvicorn", "bench._bare_tile:app", "--port", str(port), "--http", "httptools",
            "--log-level", "warning", "--no-access-log"]
    return _server(args, port, dict(os.environ), folder / "bare-tile.log", ready="/log/tile/0/000")


def _rounds(urls: dict[str, str], paths: list[str], seconds: float) -> dict[str, dict[str, float]]:
    """Each server loaded for `seconds` in all, in `ROUNDS` short turns taken in rotation, so that a
    neighbour's load on the shared machine falls on all of them alike; each one's median turn."""
    turns: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
    for _ in range(ROUNDS):
        for name, url in urls.items():
            turns[name].append(blast_gets(url, paths, clients=CLIENTS, seconds=seconds / ROUNDS))
    return {name: {**sorted(done, key=lambda turn: turn["per_s"])[len(done) // 2], "errors": sum(turn["errors"] for turn in done)}
            for name, done in turns.items()}


def run(quick: bool = False) -> dict[str, Any]:
    """Tiles/s from `tracemark serve`, from nginx and from the bare app, `CLIENTS` connections back to back."""
    size, seconds = SIZES[quick], 6.0 if quick else 30.0
    note(f"tiles: every hash tile of a {size:,}-entry log, {CLIENTS} connections, {seconds:.0f} s each against tracemark serve, "
         f"nginx serving the export and a bare ASGI app, in {ROUNDS} turns")
    ledger = synthetic_log(size)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        exported = export_tiles(ledger, folder / "tiles")
        ledger.db.dispose()
        paths = sorted(f"/log/{path.relative_to(folder / 'tiles')}" for path in (folder / "tiles" / "tile").rglob("*") if path.is_file())
        with (tracemark_server(synthetic_settings(size), folder) as api, nginx_serving_tiles(folder / "tiles", folder / "nginx") as static,
              _bare_tile_server(folder) as bare):
            _check(api, folder / "tiles", paths)
            figures = _rounds({"tracemark": api, "nginx": static, "bare_uvicorn": bare}, paths, seconds)
    served, static_served, bare_served = figures["tracemark"], figures["nginx"], figures["bare_uvicorn"]
    ratio = served["per_s"] / static_served["per_s"]
    return {
        "quick": quick, "size": size, "tiles": len(paths), "full_tiles": exported.full, "clients": CLIENTS, "seconds": seconds, **figures,
        "rows": [
            Row(f"hash tiles served, {len(paths):,} tiles round robin", served["per_s"], "tiles/s", static_served["per_s"],
                "nginx, same bytes", f">= {TARGET}x", ratio >= TARGET and served["errors"] == 0 and static_served["errors"] == 0),
            Row("  tile latency p99", served["p99_ms"], "ms", static_served["p99_ms"], "nginx, same bytes"),
            Row("  hash tiles served, against Python's ceiling", served["per_s"], "tiles/s", bare_served["per_s"],
                "bare ASGI constant tile, uvicorn"),
        ],
    }


if __name__ == "__main__":
    cli("tiles", run)
