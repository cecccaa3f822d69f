"""The log under `/log/` as C2SP tlog-tiles: the checkpoint, hash tiles and entry bundles.

Any tlog-tiles client reads the log here with the log's verifier key alone. The checkpoint and the
hash tiles are public, as the proofs are; entry bundles hold event bodies and follow the access
table as `/v1/entries` does. A full tile never changes, so it is cached for a year; a partial one
and the checkpoint only briefly. Bundles are answered to a key, so no shared cache may keep them
(`private`), and gzip-compressed for a client that accepts it. A full hash tile served once is
answered from memory afterwards (`api.kept_tiles`).
"""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

from fastapi import APIRouter, Request, Response

from api.access import admit
from api.deps import run_reads
from api.errors import ApiError
from api.kept_tiles import FULL_CACHE, PARTIAL_CACHE, TILE_TYPE, tile_cache
from ledger import Tile, TilePathError, checkpoint_note, parse_tile_path

__all__ = ["router", "TilePathInvalid", "CHECKPOINT_CACHE", "CHECKPOINT_TYPE"]

router = APIRouter(prefix="/log", tags=["log"])

CHECKPOINT_CACHE = "no-cache"
CHECKPOINT_TYPE = "text/plain; charset=utf-8"

_OCTETS: dict[int | str, dict[str, Any]] = {200: {"content": {TILE_TYPE: {"schema": {"type": "string", "format": "binary"}}}}}


class TilePathInvalid(ApiError):
    """A request under /log/tile/ whose path names no tile in tlog-tiles' encoding."""

    status = 400
    slug = "tile-path"


def _tile(path: str, entries: bool) -> Tile:
    try:
        return parse_tile_path(path, entries)
    except TilePathError as exc:
        raise TilePathInvalid(str(exc)) from exc


async def _read(request: Request, tile: Tile) -> bytes:
    reader = tile_cache(request.app).reader
    kept = reader.kept(tile)
    if kept is not None:
        return kept
    return await run_reads(reader.ledger, reader.read, tile)


@router.get("/checkpoint", summary="The latest checkpoint (C2SP tlog-checkpoint signed note)",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def checkpoint(request: Request) -> Response:
    """The checkpoint the log's witnesses cosigned most, with their cosignatures (`checkpoint_note`);
    with no witness, the newest, signed first when the log has grown: a write, which may wait for
    another process's append lock, so never on the event loop."""
    admit(request)
    note = await asyncio.to_thread(checkpoint_note, request.app.state.ledger)
    return Response(note, media_type=CHECKPOINT_TYPE, headers={"Cache-Control": CHECKPOINT_CACHE})


@router.get("/tile/entries/{path:path}", summary="An entry bundle: each entry's bytes after its uint16 length",
            responses=_OCTETS)
async def entry_bundle(request: Request, path: str) -> Response:
    """The bytes of each entry are those whose RFC 9162 leaf hash is its leaf in the level-0 tile."""
    admit(request)
    tile = _tile("entries/" + path, entries=True)
    data = await _read(request, tile)
    cache = FULL_CACHE if tile.full else PARTIAL_CACHE
    headers = {"Cache-Control": cache.replace("public", "private"), "Vary": "Accept-Encoding, Authorization"}
    if _accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["Content-Encoding"] = "gzip"
        data = _gzipped(request, tile, data)
    return Response(data, media_type=TILE_TYPE, headers=headers)


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header admits gzip (named without `q=0`)."""
    for coding in accept_encoding.lower().split(","):
        name, _, params = coding.partition(";")
        if name.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _gzipped(request: Request, tile: Tile, data: bytes) -> bytes:
    kept = tile_cache(request.app).gzipped
    packed = kept.get(tile) if tile.full else None
    if packed is None:
        packed = gzip.compress(data, compresslevel=6, mtime=0)
        if tile.full:
            kept.update({tile: packed})
    return packed


@router.get("/tile/{path:path}", summary="A hash tile: up to 256 Merkle Tree Hashes at one tile level", responses=_OCTETS)
async def hash_tile(request: Request, path: str) -> Response:
    """Read from the Merkle nodes the log stores; 404 for a tile beyond the tree."""
    admit(request)
    tile = _tile(path, entries=False)
    data = await _read(request, tile)
    tile_cache(request.app).served(request.scope["path"], tile, data)
    return Response(data, media_type=TILE_TYPE, headers={"Cache-Control": FULL_CACHE if tile.full else PARTIAL_CACHE})
