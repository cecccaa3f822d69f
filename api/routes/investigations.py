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

from api.access import ACCESS, COOKIE, Admission, AdmissionDep, Scope, admits
from api.deps import LedgerDep
from api.errors import RoleNotAdmitted, Unauthorized
from api.investigation_views import flows, network, timeline
from api.judging import headline
from api.keys import caller_of
from api.page_route import LOGIN, PageRoute, SignIn, safe_next, templates
from ledger import Hit, Ledger, NotFound, epcis_document, investigate, item_reach, labels, party_directory, search_items, trace_item, transfer_links

__all__ = ["router"]

STATIC = FsPath(__file__).resolve().parents[1] / "static" / "investigations"
STATIC_FILES = {"investigations.js": "text/javascript", "investigations.css": "text/css"}

router = APIRouter(tags=["investigations"], route_class=PageRoute)
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


def _login_form(request: Request, why: SignIn | None, back_to: str | None, status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, "investigations/login.html", {
        "message": None if why is None else why.message, "refused": why in (SignIn.REJECTED, SignIn.ROLE), "next": safe_next(back_to) or "",
    }, status_code=status)


@router.get(LOGIN, response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, why: Optional[str] = None, next: Optional[str] = None) -> HTMLResponse:  # noqa: A002
    """The sign-in form, saying why it is shown (signed out, a key refused) when a page sent the user here."""
    return _login_form(request, SignIn.named(why), next)


@router.post(LOGIN, include_in_schema=False)
async def login(request: Request, ledger: LedgerDep) -> Response:
    """Check the key once, then keep it in an HttpOnly, same-site cookie for the pages; a refused key
    gets the form again, saying so."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key, back_to = form.get("key", [""])[0].strip(), form.get("next", [""])[0]
    try:
        admits(ACCESS["GET /investigations/flows"], caller_of(ledger, f"Bearer {key}"))
    except RoleNotAdmitted:
        return _login_form(request, SignIn.ROLE, back_to, status=403)
    except Unauthorized:
        return _login_form(request, SignIn.REJECTED, back_to, status=401)
    response = RedirectResponse(safe_next(back_to) or "/investigations/flows", status_code=303)
    response.set_cookie(COOKIE, key, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/investigations/logout", include_in_schema=False)
def logout() -> Response:
    """Forget the key: the browser drops the cookie."""
    response = RedirectResponse(f"{LOGIN}?why={SignIn.BYE.value}", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/investigations/search", response_class=HTMLResponse, summary="Items by serial, item id or party (HTML)")
def search_page(request: Request, ledger: LedgerDep, admitted: AdmissionDep,
                q: str = Query("", max_length=200, description="a serial, an item id, or a party's id or name")) -> Response:
    """One item found opens its timeline; several are listed, each by its serial and maker."""
    hits = _reachable(ledger, admitted, search_items(ledger, q))
    if len(hits) == 1:
        return RedirectResponse(f"/investigations/items/{hits[0].item.uid}", status_code=303)
    return templates.TemplateResponse(request, "investigations/search.html", {"q": q, "hits": hits})


def _reachable(ledger: Ledger, admitted: Admission, hits: list[Hit]) -> list[Hit]:
    """The hits the caller may open: for police and customs, the items that touch their country."""
    if admitted.scope is not Scope.COUNTRY or admitted.caller is None:
        return hits
    return [hit for hit in hits if admitted.caller.country in item_reach(ledger, hit.item.uid).countries]


@router.get("/investigations/items/{uid}", response_class=HTMLResponse, summary="An item's timeline page (HTML)")
def timeline_page(request: Request, ledger: LedgerDep, uid: str = UidPath) -> HTMLResponse:
    trace = trace_item(ledger, uid.upper()).to_json()
    return templates.TemplateResponse(request, "investigations/timeline.html", {
        "trace": trace, "chart": timeline(trace), "label": labels(ledger, [trace["uid"]])[trace["uid"]], "parties": party_directory(ledger),
    })


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
    parties = party_directory(ledger)
    return templates.TemplateResponse(request, "investigations/network.html", {
        "findings": findings, "chart": network(transfer_links(ledger, country=admitted.country), findings, parties),
        "labels": labels(ledger, [uid for spot in findings.hotspots for uid in spot.uids[:5]]), "parties": parties, "kind": kind or "",
    })


@router.get("/static/investigations/{name}", include_in_schema=False)
def static_file(name: str) -> FileResponse:
    """The pages' own script and style (served locally: no CDN)."""
    if name not in STATIC_FILES:
        raise NotFound("static file", name)
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name])
