"""The item page people see when they open a QR code on a phone: the verdict, facts, status and timeline."""

from __future__ import annotations

import re
from pathlib import Path as FsPath
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.deps import LedgerDep
from api.history import HistoryEntry, custody_chain, item_entries
from api.investigation_views import country_name
from api.judging import Scan, judge
from ledger import Item, NotFound, Party, Snapshot, verdict
from scanner.claims import marking_verifier

__all__ = ["router"]

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=FsPath(__file__).resolve().parents[1] / "templates")

_FLAG_CLASS = {"in_transit": "moving"}
"""The status chip's colour on a page whose verdict is VALID; any other verdict makes it an alarm."""
_PUBLIC_DETAIL = {"SIGNATURE_INVALID", "MALFORMED_CODE", *verdict.FLAG_VERDICTS.values()}
"""Findings whose detail the public page shows; the others (custody, licences, permits) it names by verdict and advice only."""
FACT_NAMES = {
    "serial": "Serial", "make": "Make", "model": "Model", "maker_code": "Maker code", "calibre": "Calibre", "category": "Category",
    "species": "Species", "species_code": "Species code", "quantity": "Quantity", "unit": "Unit", "kind": "Tag",
    "country": "Made in", "country_of_origin": "Origin", "year": "Year", "description": "Description", "import_marking": "Import marking",
}
"""A marking fact's name as the camera page words it (`Wording.FACTS` of api/static/scan/verdicts.js)."""
_COUNTRY_FACTS = {"country", "country_of_origin"}


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
        judgement = judge(reads, Scan(code or item.uid), ledger.clock(), marking_verifier(ledger), request.app.state.local_log,
                         request.app.state.public_host)
        entries = item_entries(reads, item.uid, 200)
        custody = custody_chain(reads, entries)
        names = _party_names(reads, item, entries)
    chip = _FLAG_CLASS.get(item.status, "ok") if judgement.verdict == "VALID" else "alarm"
    def readable(text: str) -> str:
        return _readable(text, item, names)

    return templates.TemplateResponse(request, "item.html", {
        "item": item, "entries": entries[::-1], "custody": custody, "flag": chip, "verdict": judgement.verdict,
        "advice": readable(judgement.advice), "checked_code": code is not None,
        "reasons": [readable(f.detail) for f in judgement.findings if f.verdict in _PUBLIC_DETAIL],
        "facts": _facts(item), "names": names, "country_name": country_name,
    })


def _party_names(reads: Snapshot, item: Item, entries: list[HistoryEntry]) -> dict[str, str]:
    """Each party the page mentions, by id: its name (the id itself for a party the log does not know)."""
    ids = {item.marker, item.custodian, item.pending_to, item.seized_by, *(entry.actor for entry in entries)}
    parties = {party_id: reads.get(Party, party_id) for party_id in ids if party_id}
    return {party_id: party.name if party is not None else party_id for party_id, party in parties.items()}


def _readable(text: str, item: Item, names: dict[str, str]) -> str:
    """A reason or advice as people read it: the item named by its serial, parties by their names."""
    text = text.replace(item.uid, item.serial)
    if not names:
        return text
    ids = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")(?![\w-])")
    return ids.sub(lambda found: names[found.group(1)], text)


def _facts(item: Item) -> list[tuple[str, str]]:
    """The facts to compare with the item, serial first, in the camera page's words; countries by name."""
    rows = [("Serial", item.serial)]
    for name, value in item.facts.items():
        if name != "serial":
            rows.append((FACT_NAMES.get(name, name.replace("_", " ")), _fact_value(name, value)))
    return rows


def _fact_value(name: str, value: Any) -> str:
    """A fact's value as a sentence part: no brackets, braces or quotes."""
    if name in _COUNTRY_FACTS:
        return country_name(str(value))
    if isinstance(value, list):
        return ", ".join(_fact_value(name, part) for part in value)
    if isinstance(value, dict):
        return ", ".join(f"{FACT_NAMES.get(key, key.replace('_', ' ')).lower()} {_fact_value(key, part)}" for key, part in value.items())
    return str(value)
