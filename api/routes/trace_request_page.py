"""The investigators' page of trace requests between logs, `/investigations/trace-requests`: both
sides with their state, a form to ask a peer log, and on each request what may be done with it.

Each action is a form posted to a route here that calls what `/v1/trace-requests` calls
(`api.routes.trace_requests`), signed with the caller's managed key as there, so the page and the
API cannot disagree. A refusal is shown on the page in the problem's own words, nothing appended;
a done action comes back to the page (POST, redirect, GET), its outcome shown on the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.access import AdmissionDep, CallerDep
from api.deps import LedgerDep, SettingsDep
from api.errors import ApiError
from api.investigation_views import country_name
from api.page_route import PageRoute, invalid, templates
from api.problems import ledger_problem
from api.routes.trace_requests import RefusalIn, SeqPath, TraceRequestIn, ask, decide_as, fetch_now, send_now
from ledger import (
    ItemLabel,
    Ledger,
    LedgerError,
    Party,
    Peer,
    PeerTrace,
    Settings,
    TraceAnswerRefused,
    check_answer,
    facts_label,
    labels,
    list_peer_traces,
    list_peers,
    party_directory,
)

__all__ = ["router", "PAGE"]

router = APIRouter(tags=["investigations"], route_class=PageRoute)
PAGE = "/investigations/trace-requests"
DEADLINES = {"PT4H": "4 hours", "PT24H": "24 hours", "P3D": "3 days", "P7D": "7 days"}
"""The answer times the form offers (`$TRACEMARK_TRACE_DEADLINE` applies to the API and the CLI)."""
DONE = "^(sent|granted|refused|fetched)$"


@dataclass(frozen=True)
class Shown:
    """A request as the page shows it: the names people know its peer and item by, and for an
    answered request this log sent, whether the chain verifies against the peer's checkpoint."""

    row: PeerTrace
    peer: str
    item: ItemLabel | None
    proven_in: int | None = None
    unproven: str | None = None
    outcome: str | None = None

    @property
    def steps(self) -> list[dict[str, Any]]:
        chain = (self.row.answer or {}).get("chain") or {}
        return list(chain.get("steps") or [])

    @property
    def waiting(self) -> bool:
        return self.row.state in ("open", "overdue")


@router.get(PAGE, response_class=HTMLResponse, summary="Trace requests between this log and its peers, to ask and decide (HTML)")
def trace_requests_page(
    request: Request, ledger: LedgerDep, settings: SettingsDep, admitted: AdmissionDep,
    done: Optional[str] = Query(None, pattern=DONE, description="the action just done, shown on its request"),
    seq: Optional[int] = Query(None, ge=0, le=2**62, description="the request it was done to"),
) -> HTMLResponse:
    return _page(request, ledger, settings, admitted.caller, done=(done, seq) if done and seq is not None else None)


@router.post(PAGE, include_in_schema=False)
async def send_form(request: Request, ledger: LedgerDep, settings: SettingsDep, caller: CallerDep) -> Response:
    """Ask a peer, as `POST /v1/trace-requests` does."""
    form = await _form(request)

    def send() -> dict[str, Any]:
        body = TraceRequestIn(peer=form.get("peer", ""), item=form.get("item", ""), reason=form.get("reason", ""),
                              deadline=form.get("deadline") or None)
        return ask(request, ledger, settings, caller, body)

    return await _act(request, ledger, settings, caller, "sent", send, form)


@router.post(PAGE + "/{seq}/send", include_in_schema=False)
async def send_again(request: Request, ledger: LedgerDep, settings: SettingsDep, caller: CallerDep, seq: int = SeqPath) -> Response:
    return await _act(request, ledger, settings, caller, "sent", lambda: send_now(ledger, seq))


@router.post(PAGE + "/{seq}/fetch", include_in_schema=False)
async def fetch_form(request: Request, ledger: LedgerDep, settings: SettingsDep, caller: CallerDep, seq: int = SeqPath) -> Response:
    return await _act(request, ledger, settings, caller, "fetched", lambda: fetch_now(ledger, settings, seq))


@router.post(PAGE + "/{seq}/grant", include_in_schema=False)
async def grant_form(request: Request, ledger: LedgerDep, settings: SettingsDep, caller: CallerDep, seq: int = SeqPath) -> Response:
    return await _act(request, ledger, settings, caller, "granted", lambda: decide_as(request, ledger, settings, caller, seq, True))


@router.post(PAGE + "/{seq}/refuse", include_in_schema=False)
async def refuse_form(request: Request, ledger: LedgerDep, settings: SettingsDep, caller: CallerDep, seq: int = SeqPath) -> Response:
    form = await _form(request)

    def refuse() -> dict[str, Any]:
        return decide_as(request, ledger, settings, caller, seq, False, RefusalIn(reason=form.get("reason", "")).reason)

    return await _act(request, ledger, settings, caller, "refused", refuse)


async def _form(request: Request) -> dict[str, str]:
    return {name: values[0].strip() for name, values in parse_qs((await request.body()).decode("utf-8", "replace")).items()}


async def _act(request: Request, ledger: Ledger, settings: Settings, caller: Party, done: str,
               action: Callable[[], dict[str, Any]], form: dict[str, str] | None = None) -> Response:
    """Run `action` and come back to the page; a refusal is the page saying why, the form as it was sent."""
    try:
        row = await run_in_threadpool(action)
    except (ValidationError, ApiError, LedgerError) as exc:
        status, problem = _problem(exc)
        return await run_in_threadpool(_page, request, ledger, settings, caller, problem=problem, asked=form, status_code=status)
    query = urlencode({"done": done, "seq": row["seq"]})
    return RedirectResponse(f"{PAGE}?{query}#request-{row['seq']}", status_code=303)


def _problem(exc: Exception) -> tuple[int, str]:
    """The status and the words of the problem the API would answer."""
    if isinstance(exc, ValidationError):
        return 422, invalid(exc)
    if isinstance(exc, ApiError):
        return exc.status, exc.detail
    found = ledger_problem(None, exc)
    return found.status, f"{found.title}: {found.detail}"


def _page(request: Request, ledger: Ledger, settings: Settings, caller: Party | None, *, done: tuple[str, int] | None = None,
          problem: str | None = None, asked: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    rows = list_peer_traces(ledger)
    peers = list_peers(ledger)
    countries = {peer.name: country_name(peer.country) for peer in peers}
    known = labels(ledger, [row.item for row in rows if row.side == "received"])
    shown = [_shown(ledger, settings, row, countries.get(row.peer, row.peer), known.get(row.item), done) for row in rows]
    received = sorted((s for s in shown if s.row.side == "received"), key=lambda s: not s.waiting)  # the decisions to take first
    return templates.TemplateResponse(request, "investigations/trace_requests.html", {
        "received": received, "waiting": sum(s.waiting for s in received), "sent": [s for s in shown if s.row.side == "sent"],
        "peers": peers, "countries": countries, "shares": {peer.name: _sends(peer) for peer in peers}, "parties": party_directory(ledger),
        "can_decide": caller is not None and caller.role == "investigator", "deadlines": DEADLINES, "problem": problem,
        "asked": asked or {"deadline": "PT24H"},
    }, status_code=status_code)


def _shown(ledger: Ledger, settings: Settings, row: PeerTrace, peer: str, item: ItemLabel | None, done: tuple[str, int] | None) -> Shown:
    chain = (row.answer or {}).get("chain") if row.side == "sent" else None
    if isinstance(chain, dict) and isinstance(chain.get("facts"), dict):
        item = facts_label(row.item, str(chain.get("kind", "")), chain["facts"], str(chain.get("status", "")))
    outcome = _outcome(done[0], row, peer) if done is not None and done[1] == row.seq else None
    if row.side != "sent" or row.state != "answered":
        return Shown(row, peer, item, outcome=outcome)
    try:
        return Shown(row, peer, item, proven_in=check_answer(ledger, settings, row), outcome=outcome)
    except TraceAnswerRefused as exc:
        return Shown(row, peer, item, unproven=exc.detail, outcome=outcome)


def _outcome(done: str, row: PeerTrace, peer: str) -> str:
    """What the action just done came to, in the words of the request's state now."""
    if done == "sent":
        if row.remote_seq is None:
            return f"Logged here as entry {row.seq}, but it has not reached {peer}: send it again."
        return f"Sent: logged here as entry {row.seq}, and in {peer}'s log as entry {row.remote_seq}."
    if done == "fetched" and row.state in ("open", "overdue"):
        return f"{peer} has not decided yet."
    if done == "fetched":
        return f"The answer from {peer} is logged as entry {row.decided_seq}."
    return f"{done.capitalize()} (entry {row.decided_seq}): the answer goes to {peer}."


def _sends(peer: Peer) -> str:
    """What granting a request of `peer` sends it, as this log's sharing policy for it says."""
    parts = ["the custody chain (each step's type, time, party and inclusion proof)"]
    parts += [what for share, what in (("facts", "the item's facts with each step's signed entry"), ("holder_country", "each step's country"))
              if peer.shares(share)]
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
