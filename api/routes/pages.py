"""The item page people see when they open a QR code on a phone: facts, status and timeline."""

from __future__ import annotations

from pathlib import Path as FsPath

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.deps import LedgerDep
from api.history import custody_chain, item_entries
from ledger.errors import NotFound

__all__ = ["router"]

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=FsPath(__file__).resolve().parents[1] / "templates")

_FLAG_CLASS = {"lost": "alarm", "stolen": "alarm", "seized": "alarm", "forfeited": "alarm",
               "destroyed": "alarm", "deactivated": "alarm", "in_transit": "moving"}


@router.get("/i/{uid}", response_class=HTMLResponse, summary="The item's page for people (HTML)",
            responses={404: {"content": {"text/html": {}}, "description": "no such item"}})
def item_page(request: Request, ledger: LedgerDep, uid: str = Path(min_length=1, max_length=64)) -> HTMLResponse:
    try:
        item = ledger.item(uid.upper())
    except NotFound:
        return templates.TemplateResponse(request, "missing.html", {"uid": uid}, status_code=404)
    with ledger.reading() as session:
        entries = item_entries(session, item.uid, 200)
        custody = custody_chain(session, entries)
    return templates.TemplateResponse(request, "item.html", {
        "item": item, "entries": entries[::-1], "custody": custody, "flag": _FLAG_CLASS.get(item.status, "ok"),
    })
