"""Open questions for investigators: `GET /v1/investigations/questions` and the page
`/investigations/questions`, where an investigator confirms or dismisses each one.

A decision is a signed `confirm_finding` or `dismiss_finding` event: posted through
`POST /v1/events` signed with the investigator's own key, or from the page, signed with the
investigator's managed key (the server-held key `api.managed` keeps, as for the camera page's
seizures). The ledger's rules judge it either way.
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.access import AdmissionDep, CallerDep
from api.deps import LedgerDep, SettingsDep
from api.managed import cached_managed_key
from api.page_route import PageRoute, templates
from ledger import MAX_QUESTIONS, QUESTION_STATES, Ledger, LedgerError, Party, RuleViolation, format_time, questions, sign_event

__all__ = ["router"]

router = APIRouter(tags=["investigations"], route_class=PageRoute)
State = Query("open", description=f"one of {', '.join(QUESTION_STATES)}, or 'any'")
Country = Query(None, min_length=2, max_length=2, description="seen in, or raised about an item held in, this country (ISO alpha-2)")
PageCountry = Query(None, max_length=2, description="as `country`; the filter form sends an empty one for none")
Limit = Query(200, ge=1, le=MAX_QUESTIONS, description="at most this many, oldest first")
DECISIONS = {"confirm": "confirm_finding", "dismiss": "dismiss_finding"}


@router.get("/v1/investigations/questions", summary="Questions inspections and unreceived transfers raised, by state")
def get_questions(
    ledger: LedgerDep, admitted: AdmissionDep, state: str = State, country: Optional[str] = Country, limit: int = Limit,
) -> list[dict[str, Any]]:
    """Each question names the entry that raised it (`seq`): a `confirm_finding` or `dismiss_finding`
    event for the item names it as `question_seq`."""
    found = questions(ledger, state=None if state == "any" else state, country=admitted.limit(country), limit=limit)
    return [question.to_json() for question in found]


@router.get("/investigations/questions", response_class=HTMLResponse, summary="Open questions to confirm or dismiss (HTML)")
def questions_page(
    request: Request, ledger: LedgerDep, admitted: AdmissionDep, state: str = State, country: Optional[str] = PageCountry,
) -> HTMLResponse:
    return _page(request, ledger, admitted.caller, state, admitted.limit(country or None))


@router.post("/investigations/questions", include_in_schema=False)
async def decide(request: Request, ledger: LedgerDep, settings: SettingsDep, caller: CallerDep) -> Response:
    """Sign the investigator's decision with its managed key; a refusal shows on the page, with nothing appended."""
    form = {name: values[0].strip() for name, values in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    try:
        seq = _decided(request, ledger, settings, caller, form)
    except (LedgerError, ValueError) as exc:
        return _page(request, ledger, caller, "open", None, error=_message(exc), status_code=409)
    return RedirectResponse("/investigations/questions?" + urlencode({"decided": seq}), status_code=303)


def _decided(request: Request, ledger: Ledger, settings: Any, caller: Party, form: dict[str, str]) -> int:
    decision = DECISIONS.get(form.get("decision", ""))
    if decision is None:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
    if not form.get("seq", "").isdigit():
        raise ValueError("no question named: seq must be the entry that raised it")
    if not form.get("reason"):
        raise ValueError("give a reason for the decision")
    account = cached_managed_key(request.app.state.managed_keys, settings, caller.id)
    if account is None:
        raise ValueError(f"{caller.id} has no managed key: sign the {decision} event with your own key and POST /v1/events")
    event = {"type": decision, "actor": caller.id, "time": format_time(ledger.clock()), "item": form.get("uid", ""),
             "question_seq": int(form["seq"]), "reason": form["reason"]}
    return ledger.append(sign_event(account, event, origin=ledger.origin)).seq


def _message(exc: Exception) -> str:
    if isinstance(exc, RuleViolation):
        return f"Refused ({exc.rule}): {exc.detail}"
    return f"Refused: {exc}"


def _page(request: Request, ledger: Ledger, caller: Party | None, state: str, country: str | None,
          error: str | None = None, status_code: int = 200) -> HTMLResponse:
    found = questions(ledger, state=None if state == "any" else state, country=country)
    decided = request.query_params.get("decided")
    return templates.TemplateResponse(request, "investigations/questions.html", {
        "questions": found, "filters": {"state": state, "country": country or ""}, "states": QUESTION_STATES,
        "can_decide": caller is not None and caller.role == "investigator", "error": error,
        "decided": decided if decided and decided.isdigit() else None,
    }, status_code=status_code)
