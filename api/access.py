"""Who may call each route: one table, and the one admission that reads it.

Every route of the service has a row in `ACCESS`: whether anonymous callers may call it, which
roles may, and how far each of those roles reaches (`Scope`). `admission` judges a request by its
route's row before the route runs; `create_app` refuses to build a service with a route the table
does not list, so no route is open by omission.

Anonymous callers get what lets anyone check the log (the checkpoint, proofs and hashes) and
the public pages, which show an item's state and timeline but no event's body. Event bodies
carry case numbers, court orders, theft details, licence numbers and owner references, so every
read of them needs a key and a scope: investigators read everything; police, customs and permit
authorities read the items that touch their country; licensed parties read their own events.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.security import HTTPBearer
from starlette.routing import BaseRoute

from api.credentials import request_caller
from api.deps import run_reads
from api.errors import Forbidden, RoleNotAdmitted, Unauthorized, UnknownParameter
from api.keys import caller_of
from ledger import ROLES, Ledger, Party, Reach, item_reach

__all__ = ["Scope", "Access", "ACCESS", "COOKIE", "Admission", "AdmissionDep", "CallerDep", "ADMITTED", "admission", "admit",
           "admits", "install", "route_rows", "UnlistedRoute", "bearer"]

COOKIE = "tracemark_key"
"""The cookie `/investigations/login` sets: the investigation pages take the key from it too."""
bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer tmk_...`")


class Scope(StrEnum):
    """How far a role reaches on a route."""

    EVERYWHERE = "everywhere"
    COUNTRY = "own country"
    """An item that touches the caller's country (marked, held, shipped to, seen or seized there);
    on a route across items, the answer is limited to the caller's country."""
    OWN_EVENTS = "own events"
    """Only items the caller acted on or was sent, and of those only the events it signed or was sent."""


@dataclass(frozen=True)
class Access:
    """One route's row: anonymous callers, the roles admitted and their scope."""

    anonymous: bool = False
    roles: Mapping[str, Scope] = field(default_factory=dict)
    item: str | None = None
    """The path or query parameter naming the item that a COUNTRY or OWN_EVENTS scope is judged on."""
    across_items: bool = False
    """The route answers across items and limits its answer to `Admission.country` (COUNTRY scope)."""
    cookie: bool = False
    """The key may come from the login cookie (the pages a browser opens)."""


PUBLIC = Access(anonymous=True)
ANY_ROLE = Access(roles={role: Scope.EVERYWHERE for role in ROLES})
ADMIN = Access(roles={"admin": Scope.EVERYWHERE})
SCANNERS = Access(roles={"customs": Scope.EVERYWHERE, "police": Scope.EVERYWHERE})
_INVESTIGATING = {"investigator": Scope.EVERYWHERE, "police": Scope.COUNTRY, "customs": Scope.COUNTRY}
ITEM_TRACE = Access(roles=_INVESTIGATING, item="uid")
ITEM_EVENTS = Access(roles={"admin": Scope.EVERYWHERE, "investigator": Scope.EVERYWHERE, "police": Scope.COUNTRY,
                            "customs": Scope.COUNTRY, "permit_authority": Scope.COUNTRY, "manufacturer": Scope.OWN_EVENTS,
                            "dealer": Scope.OWN_EVENTS, "importer_exporter": Scope.OWN_EVENTS}, item="uid")
ENTRIES = Access(roles={"admin": Scope.EVERYWHERE, "investigator": Scope.EVERYWHERE})
ACROSS_ITEMS = Access(roles=_INVESTIGATING, across_items=True)
ITEM_PAGE = Access(roles=_INVESTIGATING, item="uid", cookie=True)
ACROSS_ITEMS_PAGE = Access(roles=_INVESTIGATING, across_items=True, cookie=True)

TRACE_REQUESTS = Access(roles={"investigator": Scope.EVERYWHERE, "police": Scope.EVERYWHERE, "customs": Scope.EVERYWHERE})
INVESTIGATORS = Access(roles={"investigator": Scope.EVERYWHERE})
TRACE_REQUEST_PAGE = replace(TRACE_REQUESTS, cookie=True)
DECIDING_PAGE = replace(INVESTIGATORS, cookie=True)

ACCESS: dict[str, Access] = {
    # what lets anyone check the log, and the service's own health
    "GET /v1/checkpoint": PUBLIC,
    "GET /v1/proofs/inclusion": PUBLIC,
    "GET /v1/proofs/consistency": PUBLIC,
    "POST /v1/proofs/tlog-proof": ANY_ROLE,  # a shipment's papers checked at the border (the camera page)
    "GET /log/checkpoint": PUBLIC,
    "GET /log/tile/{path:path}": PUBLIC,  # hash tiles (tlog-tiles)
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    "GET /metrics": PUBLIC,
    "GET /openapi.json": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "GET /docs/assets/{name}": PUBLIC,
    # pages for people: an item's state and timeline without event bodies, the camera, the login form
    "GET /i/{uid}": PUBLIC,
    "GET /i/{uid}/{rest:path}": PUBLIC,
    "GET /I/{uid}/{rest:path}": PUBLIC,
    "GET /scan": PUBLIC,
    "GET /scan/assets/{name}": PUBLIC,
    "GET /static/investigations/{name}": PUBLIC,
    "GET /investigations/login": PUBLIC,
    "POST /investigations/login": PUBLIC,  # checks the key it is given against the pages' rows (`admits`)
    "POST /investigations/logout": PUBLIC,  # only drops the cookie
    # writes: a party posts its own signed events (an admin relays any), the ledger's rules judge them
    "POST /v1/events": ANY_ROLE,
    "POST /v1/events:batch": ANY_ROLE,
    # state, not event bodies: an item as its public page shows it (owner data by role), parties, permits
    "GET /v1/items/{uid}": ANY_ROLE,
    "GET /v1/parties/{party_id}": ANY_ROLE,
    "GET /v1/permits/{number}": ANY_ROLE,
    # event bodies
    "GET /v1/entries": ENTRIES,
    "GET /log/tile/entries/{path:path}": ENTRIES,  # tlog-tiles entry bundles
    "GET /v1/items/{uid}/events": ITEM_EVENTS,
    "GET /v1/items/{uid}/proof": ITEM_EVENTS,  # its extra line is the entry's bytes, event body included
    "GET /v1/trace/{uid}": ITEM_TRACE,
    "GET /v1/epcis/events": Access(roles=_INVESTIGATING, item="item"),
    "GET /v1/investigations/diversion": ACROSS_ITEMS,
    "GET /investigations/items/{uid}": ITEM_PAGE,
    "GET /investigations/flows": ACROSS_ITEMS_PAGE,
    "GET /investigations/network": ACROSS_ITEMS_PAGE,
    "GET /investigations/search": ACROSS_ITEMS_PAGE,  # police and customs find the items of their own country
    "GET /v1/investigations/questions": ACROSS_ITEMS,
    "GET /investigations/questions": ACROSS_ITEMS_PAGE,
    "POST /investigations/questions": Access(roles={"investigator": Scope.EVERYWHERE}, cookie=True),  # signs with the managed key
    # the border
    "GET /v1/me": ANY_ROLE,
    "POST /v1/scan": SCANNERS,
    "POST /scan/seize": SCANNERS,
    # the operator
    "POST /v1/admin/api-keys": ADMIN,
    "GET /v1/admin/api-keys": ADMIN,
    "DELETE /v1/admin/api-keys/{key_id}": ADMIN,
    # this server as a witness of other logs: the log's signature on the checkpoint is the only authentication
    "POST /witness/add-checkpoint": PUBLIC,
    "GET /witness/{origin_hash}/checkpoint": PUBLIC,
    # between national logs: the peer list is a note the log signs; the rest authenticates a peer by its RFC 9421 signature
    "GET /federation/v1/peers": PUBLIC,
    "GET /federation/v1/hello": PUBLIC,
    "POST /federation/v1/hello": PUBLIC,
    "POST /federation/v1/trace-requests": PUBLIC,
    "GET /federation/v1/trace-requests/{seq}": PUBLIC,
    "POST /federation/v1/trace-answers": PUBLIC,
    # trace requests between logs: investigators ask and decide (signing with their managed key); police and customs ask;
    # the page does the same with the login cookie
    "GET /v1/trace-requests": TRACE_REQUESTS,
    "GET /v1/trace-requests/{seq}": TRACE_REQUESTS,
    "POST /v1/trace-requests": TRACE_REQUESTS,
    "POST /v1/trace-requests/{seq}/send": TRACE_REQUESTS,
    "POST /v1/trace-requests/{seq}/fetch": TRACE_REQUESTS,
    "POST /v1/trace-requests/{seq}/grant": INVESTIGATORS,
    "POST /v1/trace-requests/{seq}/refuse": INVESTIGATORS,
    "GET /investigations/trace-requests": TRACE_REQUEST_PAGE,
    "POST /investigations/trace-requests": TRACE_REQUEST_PAGE,
    "POST /investigations/trace-requests/{seq}/send": TRACE_REQUEST_PAGE,
    "POST /investigations/trace-requests/{seq}/fetch": TRACE_REQUEST_PAGE,
    "POST /investigations/trace-requests/{seq}/grant": DECIDING_PAGE,
    "POST /investigations/trace-requests/{seq}/refuse": DECIDING_PAGE,
    "GET /federation/v1/items/{uid}/status": PUBLIC,
    "POST /federation/v1/hits": PUBLIC,
    "GET /federation/v1/bundle": PUBLIC,
}


@dataclass(frozen=True)
class Admission:
    """Who is calling (None: anonymous on a public route) and how far it reaches here."""

    caller: Party | None
    scope: Scope | None = None

    @property
    def country(self) -> str | None:
        """The country a route across items limits its answer to; None for no limit."""
        return self.caller.country if self.caller is not None and self.scope is Scope.COUNTRY else None

    def limit(self, asked: str | None) -> str | None:
        """The country filter of a route across items: what was asked, within the caller's country."""
        own = self.country
        if own is None or asked is None or asked.upper() == own:
            return own or asked
        raise Forbidden(f"a {self.caller.role} of {own} reads its own country only, not {asked!r}")

    def shows(self, actor: str, event: Mapping[str, Any]) -> bool:
        """Whether an event of an admitted item is shown: all of them, but for OWN_EVENTS only the caller's own."""
        if self.scope is not Scope.OWN_EVENTS or self.caller is None:
            return True
        return self.caller.id in (actor, event.get("to"))


class UnlistedRoute(Exception):
    """The service has a route that `ACCESS` does not list."""


def route_rows(app: FastAPI) -> list[tuple[BaseRoute, str, str]]:
    """Each (route, method, "METHOD path") the app answers; HEAD is answered as GET."""
    return [(context.original_route, method, f"{method} {context.path}")
            for context in iter_route_contexts(app.routes) for method in sorted(context.methods or ()) if method != "HEAD"]


_CONVERTOR = re.compile(r"\{(\w+):\w+\}")
"""A path parameter's convertor (`{rest:path}`), which OpenAPI's paths leave out."""


def install(app: FastAPI) -> None:
    """Give each route its row (refusing a service with a route the table does not list), and
    document in OpenAPI which routes take a key."""
    rows, unlisted = {}, []
    app.state.query_names = {}  # filled per route on first use; the app keeps its routes, so their ids hold
    for route, method, key in route_rows(app):
        if key in ACCESS:
            rows[id(route), method] = ACCESS[key]
        else:
            unlisted.append(key)
    if unlisted:
        raise UnlistedRoute(f"routes missing from api.access.ACCESS: {', '.join(unlisted)}")
    app.state.access = rows
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {}).setdefault("securitySchemes", {})[bearer.scheme_name] = (
                bearer.model.model_dump(mode="json", by_alias=True, exclude_none=True))
            keyed = {_CONVERTOR.sub(r"{\1}", key) for key, row in ACCESS.items() if not row.anonymous}
            for path, operations in schema["paths"].items():
                for method, operation in operations.items():
                    if f"{method.upper()} {path}" in keyed:
                        operation["security"] = [{bearer.scheme_name: []}]
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def admits(access: Access, caller: Party) -> Scope:
    """The caller's scope on a route of `access`; RoleNotAdmitted when its role is not admitted."""
    scope = access.roles.get(caller.role)
    if scope is None:
        raise RoleNotAdmitted(f"a {caller.role} may not call this; only {' or '.join(access.roles)}")
    return scope


def _access(request: Request) -> Access:
    """The row `install` gave the request's route."""
    return request.app.state.access[id(request.scope["route"]), "GET" if request.method == "HEAD" else request.method]


def admit(request: Request) -> Admission:
    """The request's caller, admitted by its route's row; the item scopes are `admission`'s.

    Synchronous and without FastAPI's dependency machinery, for the hot routes of `api.lean`.
    """
    if request.scope["query_string"]:
        _refuse_unknown_parameters(request)
    access = _access(request)
    if access.anonymous:
        return Admission(None)
    if access.cookie and "authorization" not in request.headers:
        cookie = request.cookies.get(COOKIE)
        if cookie is None:
            raise Unauthorized("sign in at /investigations/login with an API key")
        caller = caller_of(request.app.state.ledger, f"Bearer {cookie}")
    else:
        caller = request_caller(request)
    return Admission(caller, admits(access, caller))


def _refuse_unknown_parameters(request: Request) -> None:
    """An API route (`/v1/...`) is told only what it takes: a parameter it does not know, such as a
    misspelt filter, is refused rather than ignored (an answer for every country, say)."""
    if not request.url.path.startswith("/v1/"):
        return
    route = request.scope["route"]
    cache: dict[int, frozenset[str]] = request.app.state.query_names
    known = cache.get(id(route))
    if known is None:
        known = cache[id(route)] = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise UnknownParameter(f"this route takes no query parameter {', '.join(map(repr, unknown))} (it takes: {takes})")


def _query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameters a route or dependency reads, its sub-dependencies' included."""
    return frozenset(param.alias for param in dependant.query_params).union(*map(_query_names, dependant.dependencies))


async def admission(request: Request) -> Admission:
    """`admit`, then the item scopes: the route's item must touch the caller's country, or the caller
    must have acted on it or been sent it. A route across items is limited to the caller's country."""
    admitted = admit(request)
    if admitted.scope not in (Scope.COUNTRY, Scope.OWN_EVENTS):
        return admitted
    access = _access(request)
    uid = (request.path_params.get(access.item) or request.query_params.get(access.item)) if access.item else None
    if uid is None:
        if not access.across_items:
            raise Forbidden(f"a {admitted.caller.role} reads only items of its own country: name one with {access.item!r}")
        return admitted
    ledger: Ledger = request.app.state.ledger
    _within(admitted, uid.upper(), await run_reads(ledger, item_reach, ledger, uid.upper()))
    return admitted


def _within(admitted: Admission, uid: str, reach: Reach) -> None:
    caller = admitted.caller
    assert caller is not None
    if admitted.scope is Scope.COUNTRY and caller.country not in reach.countries:
        raise Forbidden(f"{caller.id} is a {caller.role} of {caller.country}; item {uid} was never marked, held, "
                        f"sent, seen or seized there")
    if admitted.scope is Scope.OWN_EVENTS and caller.id not in reach.parties:
        raise Forbidden(f"{caller.id} took no part in item {uid}: a {caller.role} reads only the items it acted on or was sent")


AdmissionDep = Annotated[Admission, Depends(admission)]
ADMITTED = Depends(admission)
"""The dependency `create_app` puts on every router but the lean ones, whose routes call `admit`."""


async def admitted_caller(admitted: AdmissionDep) -> Party:
    """The admitted caller of a route whose row needs a key."""
    if admitted.caller is None:
        raise Unauthorized("no API key: send `Authorization: Bearer tmk_...`")
    return admitted.caller


CallerDep = Annotated[Party, Depends(admitted_caller)]
