"""The item page people see when they open a QR code on a phone: the verdict, facts, status and timeline."""

from __future__ import annotations

from pathlib import Path as FsPath

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.deps import LedgerDep
from api.history import custody_chain, item_entries
from api.judging import Scan, judge
from ledger import NotFound, Snapshot, verdict
from scanner.claims import marking_verifier

__all__ = ["router"]

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=FsPath(__file__).resolve().parents[1] / "templates")

_FLAG_CLASS = {"in_transit": "moving"}
"""The status chip's colour on a page whose verdict is VALID; any other verdict makes it an alarm."""
_PUBLIC_DETAIL = {"SIGNATURE_INVALID", "MALFORMED_CODE", *verdict.FLAG_VERDICTS.values()}
"""Findings whose detail the public page shows; the others (custody, licences, permits) it names by verdict and advice only."""


@router.get("/i/{uid}", response_class=HTMLResponse, summary="The item's page for people (HTML)",
            responses={404: {"content": {"text/html": {}}, "description": "no such item"}})
def item_page(request: Request, ledger: LedgerDep, uid: str = Path(min_length=1, max_length=64)) -> HTMLResponse:
    return _page(request, ledger, uid, code=None)


@router.get("/I/{uid}/{rest:path}", response_class=HTMLResponse, summary="The page a phone opens from a QR code (HTML)",
            responses={404: {"content": {"text/html": {}}, "description": "no such item"}})
@router.get("/i/{uid}/{rest:path}", response_class=HTMLResponse, include_in_schema=False)
def code_page(request: Request, ledger: LedgerDep, uid: str = Path(min_length=1, max_length=64),
              rest: str = Path(max_length=400)) -> HTMLResponse:
    """The code is the whole address the phone opened, as sent (a serial's `/` stays %2F); its
    signature, which covers the host, is checked, not trusted."""
    return _page(request, ledger, uid, code=f"HTTPS://{request.url.netloc}{request.scope['raw_path'].decode('latin-1')}")


def _page(request: Request, ledger: LedgerDep, uid: str, code: str | None) -> HTMLResponse:
    try:
        item = ledger.item(uid.upper())
    except NotFound:
        return templates.TemplateResponse(request, "missing.html", {"uid": uid}, status_code=404)
    with Snapshot(ledger.db) as reads:
        judgement = judge(reads, Scan(code or item.uid), ledger.clock(), marking_verifier(ledger), request.app.state.local_log)
        entries = item_entries(reads, item.uid, 200)
        custody = custody_chain(reads, entries)
    chip = _FLAG_CLASS.get(item.status, "ok") if judgement.verdict == "VALID" else "alarm"
    return templates.TemplateResponse(request, "item.html", {
        "item": item, "entries": entries[::-1], "custody": custody, "flag": chip, "verdict": judgement.verdict,
        "advice": judgement.advice, "findings": [f for f in judgement.findings if f.verdict in _PUBLIC_DETAIL],
        "checked_code": code is not None,
    })
