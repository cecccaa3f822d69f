"""The camera page: `GET /scan` decodes QR codes in the browser and posts them to `/v1/scan`.

Its decoder (zxing-wasm, pinned in `api/static/scan/package.json`) is served from the project,
never a CDN, with the MIME types browsers require (`application/wasm` for streaming compile).
`POST /scan/seize` records a seizure signed with the scanning party's managed key, the same
server-held key `/v1/scan` signs inspections with.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from api.access import CallerDep
from api.deps import LedgerDep, SettingsDep
from api.errors import Forbidden, KeyNotFound
from api.managed import cached_managed_key
from ledger import format_time, sign_event

__all__ = ["router"]

router = APIRouter(tags=["camera"])
STATIC = Path(__file__).resolve().parents[1] / "static" / "scan"
ASSETS = {
    "scan.js": ("scan.js", "text/javascript"),
    "verdicts.js": ("verdicts.js", "text/javascript"),
    "scan.css": ("scan.css", "text/css"),
    "zxing-reader.js": ("vendor/zxing-reader.js", "text/javascript"),
    "zxing_reader.wasm": ("vendor/zxing_reader.wasm", "application/wasm"),
}


@router.get("/scan", response_class=FileResponse, summary="The camera scanning page (HTML)")
def camera_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


@router.get("/scan/assets/{name}", response_class=FileResponse, include_in_schema=False)
def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise KeyNotFound(f"no asset {name!r}; the page serves {sorted(ASSETS)}")
    path, media_type = ASSETS[name]
    return FileResponse(STATIC / path, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})


class SeizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=26, max_length=26)
    country: str = Field(min_length=2, max_length=2)
    place: str = Field(min_length=1, max_length=120)
    reason: str = Field(min_length=1, max_length=500)


class SeizeOut(BaseModel):
    seq: int
    leaf_hash: str


@router.post("/scan/seize", response_model=SeizeOut, summary="Record a seizure from the camera page (managed key)")
def seize(body: SeizeRequest, request: Request, ledger: LedgerDep, settings: SettingsDep, caller: CallerDep) -> SeizeOut:
    """Append a `seize` event of the caller, signed with its managed key; the ledger's rules judge it."""
    account = cached_managed_key(request.app.state.managed_keys, settings, caller.id)
    if account is None:
        raise Forbidden(f"{caller.id} has no managed key: sign the seizure with your own key and POST /v1/events")
    event = {"type": "seize", "actor": caller.id, "time": format_time(ledger.clock()), "item": body.item,
             "country": body.country, "place": body.place, "reason": body.reason}
    receipt = ledger.append(sign_event(account, event, origin=ledger.origin))
    return SeizeOut(seq=receipt.seq, leaf_hash=receipt.leaf_hash.hex())
