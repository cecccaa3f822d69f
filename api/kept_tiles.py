"""A server process's tiles in memory, and the full hash tiles answered before the rest of the stack.

A hash tile is public, and the bytes at its path never change (a partial tile's path names its
width): once a process has served one, a GET of the same path is answered from memory by
`KeptTiles`, the outermost middleware, without routing, admission, rate limits or metrics
(docs/performance.md, "Tiles").
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger import Bounded, Tile, TileReader

__all__ = ["TileCache", "tile_cache", "KeptTiles", "FULL_CACHE", "PARTIAL_CACHE", "TILE_TYPE"]

FULL_CACHE = "public, max-age=31536000, immutable"
PARTIAL_CACHE = "public, max-age=60"
TILE_TYPE = "application/octet-stream"
_KEPT_GZIP = 256
"""Compressed full entry bundles a server process keeps."""
_PREFIX = "/log/tile/"


def _headers(tile: Tile, data: bytes) -> list[tuple[bytes, bytes]]:
    cache = FULL_CACHE if tile.full else PARTIAL_CACHE
    return [(b"content-type", TILE_TYPE.encode()), (b"cache-control", cache.encode()), (b"content-length", str(len(data)).encode())]


class TileCache:
    """One server process's tile reader, its gzip-compressed full bundles, and the hash tiles it served by request path."""

    def __init__(self, app: FastAPI) -> None:
        self.reader = TileReader(app.state.ledger)
        self.gzipped: Bounded[Tile, bytes] = Bounded(_KEPT_GZIP)
        self.by_path: Bounded[str, tuple[list[tuple[bytes, bytes]], bytes]] = Bounded(self.reader.keep)

    def served(self, path: str, tile: Tile, data: bytes) -> None:
        """Hash tile `tile` was answered at `path`: keep its answer for `KeptTiles`."""
        if not tile.entries:
            self.by_path.update({path: (_headers(tile, data), data)})


def tile_cache(app: FastAPI) -> TileCache:
    """The app's `TileCache`, made on first use."""
    state = app.state
    if not hasattr(state, "tiles"):
        state.tiles = TileCache(app)
    return state.tiles


class KeptTiles:
    """ASGI middleware: a plain GET of a hash tile the process has served before, from memory."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(_PREFIX) and not scope["query_string"]:
            tiles = getattr(scope["app"].state, "tiles", None)
            kept = None if tiles is None else tiles.by_path.get(scope["path"])
            if kept is not None:
                await send({"type": "http.response.start", "status": 200, "headers": kept[0]})
                await send({"type": "http.response.body", "body": kept[1]})
                return
        await self.app(scope, receive, send)
