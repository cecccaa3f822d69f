"""Investigations: item traces with proofs, diversion hotspots, EPCIS 2.0 export, and their pages.

The JSON routes take the API key as a bearer token; the pages also accept it from the
`tracemark_key` cookie that `/investigations/login` sets, so a browser can open them. Who may
read what is `api.access`'s: investigators everything, police and customs their own country.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any, Optional
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.access import ACCESS, COOKIE, AdmissionDep, admits
from api.deps import LedgerDep
from api.investigation_views import flows, network, timeline
from api.keys import authenticate
from api.verdicts import headline
from ledger.epcis import epcis_document
from ledger.errors import NotFound
from ledger.investigate import investigate, transfer_links
from ledger.trace import trace_item

__all__ = ["router"]

STATIC = FsPath(__file__).resolve().parents[1] / "static" / "investigations"
STATIC_FILES = {"investigations.js": "text/javascript", "investigations.css": "text/css"}

router = APIRouter(tags=["investigations"])
templates = Jinja2Templates(directory=FsPath(__file__).resolve().parents[1] / "templates")
UidPath = Path(min_length=26, max_length=26, description="the item's ULID")
Since = Query(None, description="diversions at or after this RFC 3339 time")
Country = Query(None, min_length=2, max_length=2, description="diverted from or found in this country (ISO alpha-2)")
Kind = Query(None, description="firearm, specimen, or a diversion kind (theft, loss, seizure, off_route, ...)")


@router.get("/v1/trace/{uid}", summary="An item's chain of custody with proofs, diversion point and time-to-crime")
def get_trace(ledger: LedgerDep, uid: str = UidPath) -> dict[str, Any]:
    return trace_item(ledger, uid).to_json() | headline(ledger, uid)


@router.get("/v1/investigations/diversion", summary="Diversion hotspots, routes of flagged items, seized permits")
def get_diversion(
    ledger: LedgerDep, admitted: AdmissionDep, since: Optional[str] = Since, country: Optional[str] = Country, kind: Optional[str] = Kind
) -> dict[str, Any]:
    return investigate(ledger, since=since, country=admitted.limit(country), kind=kind).to_json()


@router.get("/v1/epcis/events", summary="The log's events as an EPCIS 2.0 document (JSON-LD) with proofs")
def get_epcis(
    ledger: LedgerDep,
    item: Optional[str] = Query(None, min_length=26, max_length=26, description="only this item's events"),
    start: int = Query(0, ge=0, le=2**62, description="first log entry"),
    limit: int = Query(1000, ge=1, le=10_000, description="at most this many events"),
) -> JSONResponse:
    return JSONResponse(epcis_document(ledger, item=item, start=start, limit=limit), media_type="application/ld+json")


# ---------------------------------------------------------------- pages


@router.get("/investigations/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "investigations/login.html", {})


@router.post("/investigations/login", include_in_schema=False)
async def login(request: Request, ledger: LedgerDep) -> Response:
    """Check the key once, then keep it in an HttpOnly, same-site cookie for the pages."""
    key = parse_qs((await request.body()).decode("utf-8", "replace")).get("key", [""])[0].strip()
    admits(ACCESS["GET /investigations/flows"], authenticate(ledger, f"Bearer {key}"))
    response = RedirectResponse("/investigations/flows", status_code=303)
    response.set_cookie(COOKIE, key, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.get("/investigations/items/{uid}", response_class=HTMLResponse, summary="An item's timeline page (HTML)")
def timeline_page(request: Request, ledger: LedgerDep, uid: str = UidPath) -> HTMLResponse:
    trace = trace_item(ledger, uid.upper()).to_json()
    return templates.TemplateResponse(request, "investigations/timeline.html", {"trace": trace, "chart": timeline(trace)})


@router.get("/investigations/flows", response_class=HTMLResponse, summary="Where flagged items crossed (HTML)")
def flows_page(
    request: Request, ledger: LedgerDep, admitted: AdmissionDep,
    since: Optional[str] = Since, country: Optional[str] = Country, kind: Optional[str] = Kind,
) -> HTMLResponse:
    country = admitted.limit(country)
    findings = investigate(ledger, since=since, country=country, kind=kind)
    return templates.TemplateResponse(request, "investigations/flows.html", {
        "findings": findings, "chart": flows(findings), "filters": {"since": since or "", "country": country or "", "kind": kind or ""},
    })


@router.get("/investigations/network", response_class=HTMLResponse, summary="Parties linked by transfers, hotspots highlighted (HTML)")
def network_page(request: Request, ledger: LedgerDep, admitted: AdmissionDep, kind: Optional[str] = Kind) -> HTMLResponse:
    findings = investigate(ledger, kind=kind, country=admitted.country)
    return templates.TemplateResponse(request, "investigations/network.html", {
        "findings": findings, "chart": network(transfer_links(ledger, country=admitted.country), findings),
    })


@router.get("/static/investigations/{name}", include_in_schema=False)
def static_file(name: str) -> FileResponse:
    """The pages' own script and style (served locally: no CDN)."""
    if name not in STATIC_FILES:
        raise NotFound("static file", name)
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name])
