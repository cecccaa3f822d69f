"""The authorisation table, cell by cell: every route x every kind of caller, on SQLite and PostgreSQL.

The expected cells are written out here, not read from `api.access.ACCESS`, so a row that opens
a route wider (or a route that skips the admission) fails a cell. The story: a Beretta pistol
shipped to a German dealer and seized by the German police with a case number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from api import app as api_app
from api.access import ACCESS, COOKIE, UnlistedRoute, route_rows
from api.app import create_app
from tests.api.conftest import assert_problem
from tests.support import World

ANONYMOUS, WRONG_KEY = "anonymous", "a wrong key"
PARTIES = ["registry", "ke-kws", "de-bfn", "it-beretta", "at-glock", "de-jagd-schmidt", "be-armurerie", "ke-croc-ranch",
           "de-customs", "ke-customs", "de-police", "be-police", "investigator"]
CALLERS = [ANONYMOUS, WRONG_KEY, *PARTIES]
UNKNOWN_TOKEN = "tmk_0123456789abcdef_" + "A" * 43
EVERYONE = frozenset(CALLERS)
ANY_KEY = frozenset(PARTIES)
NOBODY: frozenset[str] = frozenset()
AUDITORS = frozenset({"registry", "investigator"})
SCANNERS = frozenset({"de-customs", "ke-customs", "de-police", "be-police"})
INVESTIGATING = frozenset({"investigator", *SCANNERS})
GERMAN_ITEM_INVESTIGATORS = frozenset({"investigator", "de-customs", "de-police"})
"""The item was marked in Italy and held and seized in Germany: no Kenyan or Belgian authority reads it."""
GERMAN_ITEM_READERS = GERMAN_ITEM_INVESTIGATORS | {"registry", "de-bfn", "it-beretta", "de-jagd-schmidt"}
CASE = "OF-2026-17"


@dataclass(frozen=True)
class Cell:
    """One request to a route, and the callers admitted to it with the status they get."""

    route: str
    url: str
    admitted: frozenset[str]
    status: int = 200
    body: dict[str, Any] | None = None
    login: bool = False  # the key goes in the login form, not a header


def cells(uid: str, permit: str) -> list[Cell]:
    return [
        Cell("GET /v1/checkpoint", "/v1/checkpoint", EVERYONE),
        Cell("GET /v1/proofs/inclusion", "/v1/proofs/inclusion?seq=0&size=2", EVERYONE),
        Cell("GET /v1/proofs/consistency", "/v1/proofs/consistency?old=1&new=2", EVERYONE),
        Cell("GET /log/checkpoint", "/log/checkpoint", EVERYONE),
        Cell("GET /log/tile/{path:path}", "/log/tile/0/000.p/1", EVERYONE),
        Cell("GET /healthz", "/healthz", EVERYONE),
        Cell("GET /readyz", "/readyz", EVERYONE),
        Cell("GET /metrics", "/metrics", EVERYONE),
        Cell("GET /openapi.json", "/openapi.json", EVERYONE),
        Cell("GET /docs", "/docs", EVERYONE),
        Cell("GET /docs/oauth2-redirect", "/docs/oauth2-redirect", EVERYONE),
        Cell("GET /docs/assets/{name}", "/docs/assets/swagger-ui-bundle.js", EVERYONE),
        Cell("GET /i/{uid}", f"/i/{uid}", EVERYONE),
        Cell("GET /i/{uid}/{rest:path}", f"/i/{uid}/X", EVERYONE),
        Cell("GET /I/{uid}/{rest:path}", f"/I/{uid}/X", EVERYONE),
        Cell("GET /scan", "/scan", EVERYONE),
        Cell("GET /scan/assets/{name}", "/scan/assets/scan.js", EVERYONE),
        Cell("GET /static/investigations/{name}", "/static/investigations/investigations.js", EVERYONE),
        Cell("GET /investigations/login", "/investigations/login", EVERYONE),
        Cell("POST /investigations/login", "/investigations/login", INVESTIGATING, 303, login=True),
        Cell("POST /investigations/logout", "/investigations/logout", EVERYONE, 303),
        Cell("POST /v1/events", "/v1/events", ANY_KEY, 422, body={}),
        Cell("POST /v1/events:batch", "/v1/events:batch", ANY_KEY, 422, body={}),
        Cell("GET /v1/items/{uid}", f"/v1/items/{uid}", ANY_KEY),
        Cell("GET /v1/parties/{party_id}", "/v1/parties/de-jagd-schmidt", ANY_KEY),
        Cell("GET /v1/permits/{number}", f"/v1/permits/{permit}", ANY_KEY),
        Cell("GET /v1/entries", "/v1/entries", AUDITORS),
        Cell("GET /log/tile/entries/{path:path}", "/log/tile/entries/000.p/1", AUDITORS),
        Cell("GET /v1/items/{uid}/events", f"/v1/items/{uid}/events", GERMAN_ITEM_READERS),
        Cell("GET /v1/items/{uid}/proof", f"/v1/items/{uid}/proof", GERMAN_ITEM_READERS),
        Cell("GET /v1/trace/{uid}", f"/v1/trace/{uid}", GERMAN_ITEM_INVESTIGATORS),
        Cell("GET /v1/epcis/events", f"/v1/epcis/events?item={uid}", GERMAN_ITEM_INVESTIGATORS),
        Cell("GET /v1/epcis/events", "/v1/epcis/events", frozenset({"investigator"})),
        Cell("GET /v1/investigations/diversion", "/v1/investigations/diversion", INVESTIGATING),
        Cell("GET /v1/investigations/diversion", "/v1/investigations/diversion?country=DE", GERMAN_ITEM_INVESTIGATORS),
        Cell("GET /investigations/items/{uid}", f"/investigations/items/{uid}", GERMAN_ITEM_INVESTIGATORS),
        Cell("GET /investigations/flows", "/investigations/flows", INVESTIGATING),
        Cell("GET /investigations/flows", "/investigations/flows?country=DE", GERMAN_ITEM_INVESTIGATORS),
        Cell("GET /investigations/network", "/investigations/network", INVESTIGATING),
        Cell("GET /investigations/search", "/investigations/search?q=no-such-serial", INVESTIGATING),
        Cell("GET /v1/me", "/v1/me", ANY_KEY),
        Cell("GET /v1/investigations/questions", "/v1/investigations/questions", INVESTIGATING),
        Cell("GET /v1/investigations/questions", "/v1/investigations/questions?country=DE", GERMAN_ITEM_INVESTIGATORS),
        Cell("GET /investigations/questions", "/investigations/questions", INVESTIGATING),
        Cell("GET /investigations/questions", "/investigations/questions?country=DE", GERMAN_ITEM_INVESTIGATORS),
        Cell("POST /investigations/questions", "/investigations/questions", frozenset({"investigator"}), 409, body={}),
        Cell("POST /v1/scan", "/v1/scan", SCANNERS, 422, body={}),
        Cell("POST /scan/seize", "/scan/seize", SCANNERS, 422, body={}),
        Cell("POST /v1/proofs/tlog-proof", "/v1/proofs/tlog-proof", ANY_KEY, 422, body={}),  # "{}" is no proof
        Cell("POST /v1/admin/api-keys", "/v1/admin/api-keys", frozenset({"registry"}), 422, body={}),
        Cell("GET /v1/admin/api-keys", "/v1/admin/api-keys", frozenset({"registry"})),
        Cell("DELETE /v1/admin/api-keys/{key_id}", "/v1/admin/api-keys/ffffffffffffffff", frozenset({"registry"}), 404),
        Cell("POST /witness/add-checkpoint", "/witness/add-checkpoint", EVERYONE, 400, body={}),
        Cell("GET /witness/{origin_hash}/checkpoint", f"/witness/{'0' * 64}/checkpoint", EVERYONE, 404),
        Cell("GET /federation/v1/peers", "/federation/v1/peers", EVERYONE),
        Cell("GET /federation/v1/hello", "/federation/v1/hello", EVERYONE, 401),  # an API key is no peer's signature
        Cell("POST /federation/v1/hello", "/federation/v1/hello", EVERYONE, 401, body={}),
        Cell("POST /federation/v1/trace-requests", "/federation/v1/trace-requests", EVERYONE, 401, body={}),
        Cell("GET /federation/v1/trace-requests/{seq}", "/federation/v1/trace-requests/0", EVERYONE, 401),
        Cell("POST /federation/v1/trace-answers", "/federation/v1/trace-answers", EVERYONE, 401, body={}),
        Cell("GET /v1/trace-requests", "/v1/trace-requests", INVESTIGATING),
        Cell("GET /v1/trace-requests/{seq}", "/v1/trace-requests/0", INVESTIGATING, 404),
        Cell("POST /v1/trace-requests", "/v1/trace-requests", INVESTIGATING, 422, body={}),
        Cell("POST /v1/trace-requests/{seq}/send", "/v1/trace-requests/0/send", INVESTIGATING, 404),
        Cell("POST /v1/trace-requests/{seq}/fetch", "/v1/trace-requests/0/fetch", INVESTIGATING, 404),
        Cell("POST /v1/trace-requests/{seq}/grant", "/v1/trace-requests/0/grant", frozenset({"investigator"}), 404),
        Cell("POST /v1/trace-requests/{seq}/refuse", "/v1/trace-requests/0/refuse", frozenset({"investigator"}), 422, body={}),
        Cell("GET /investigations/trace-requests", "/investigations/trace-requests", INVESTIGATING),
        Cell("POST /investigations/trace-requests", "/investigations/trace-requests", INVESTIGATING, 422, body={}),
        Cell("POST /investigations/trace-requests/{seq}/send", "/investigations/trace-requests/0/send", INVESTIGATING, 404),
        Cell("POST /investigations/trace-requests/{seq}/fetch", "/investigations/trace-requests/0/fetch", INVESTIGATING, 404),
        Cell("POST /investigations/trace-requests/{seq}/grant", "/investigations/trace-requests/0/grant", frozenset({"investigator"}), 404),
        Cell("POST /investigations/trace-requests/{seq}/refuse", "/investigations/trace-requests/0/refuse", frozenset({"investigator"}), 422, body={}),
        Cell("GET /federation/v1/items/{uid}/status", f"/federation/v1/items/{uid}/status", EVERYONE, 401),
        Cell("POST /federation/v1/hits", "/federation/v1/hits", EVERYONE, 401, body={}),
        Cell("GET /federation/v1/bundle", "/federation/v1/bundle", EVERYONE, 401),
    ]


def german_seizure(world: World) -> str:
    uid = world.firearm("it-beretta")
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    world.act("de-police", "seize", item=uid, country="DE", place="Offenbach", reason="sold without licence check", case=CASE)
    return uid


def token_of(caller: str, auth: Callable[[str], dict[str, str]]) -> str | None:
    if caller == ANONYMOUS:
        return None
    return UNKNOWN_TOKEN if caller == WRONG_KEY else auth(caller)["Authorization"].removeprefix("Bearer ")


def call(client: TestClient, cell: Cell, token: str | None) -> Any:
    method, _ = cell.route.split(" ", 1)
    client.cookies.clear()  # a login sets the cookie: no later cell may ride on it
    if cell.login:
        return client.post(cell.url, data={"key": token or ""}, follow_redirects=False)
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return client.request(method, cell.url, headers=headers, json=cell.body, follow_redirects=False)


def expected(cell: Cell, caller: str) -> int:
    if caller in cell.admitted:
        return cell.status
    if caller == ANONYMOUS and ACCESS[cell.route].cookie:
        return 303  # a page sends a visitor without a key to the sign-in page
    return 401 if caller in (ANONYMOUS, WRONG_KEY) else 403


def test_every_route_answers_every_kind_of_caller_as_the_table_says(client, world, auth, ledger):  # noqa: ANN001
    uid = german_seizure(world)
    table = cells(uid, world.issue_permit())
    assert {cell.route for cell in table} == set(ACCESS), "every row of the table has its cells"
    wrong = []
    for cell in table:
        for caller in CALLERS:
            response = call(client, cell, token_of(caller, auth))
            if response.status_code != expected(cell, caller):
                wrong.append(f"{cell.route} ({cell.url}) as {caller}: {response.status_code}, expected {expected(cell, caller)}")
            elif response.status_code in (401, 403) and not cell.login:  # the login form answers with the form, saying why
                assert response.headers["content-type"].startswith("application/problem+json"), (cell.url, caller)
    assert not wrong, "\n".join(wrong)


def test_every_route_of_the_service_has_a_row_and_a_route_without_one_is_refused(settings, ledger, monkeypatch):  # noqa: ANN001
    app = create_app(settings, ledger=ledger)
    assert {key for _, _, key in route_rows(app)} == set(ACCESS)
    extra = APIRouter()
    extra.add_api_route("/v1/forgotten", lambda: {"open": True}, methods=["GET"])
    monkeypatch.setattr(api_app, "ROUTERS", [*api_app.ROUTERS, extra])
    with pytest.raises(UnlistedRoute, match="GET /v1/forgotten"):
        create_app(settings, ledger=ledger)


def test_anonymous_callers_get_the_checkpoint_proofs_and_hashes_but_no_event_body(client, world, auth):  # noqa: ANN001
    uid = german_seizure(world)
    assert_problem(client.get("/v1/entries"), 401, "unauthorized")
    assert_problem(client.get(f"/v1/items/{uid}/events"), 401, "unauthorized")
    for public in ("/v1/checkpoint", "/v1/proofs/inclusion?seq=0&size=2", f"/i/{uid}"):
        response = client.get(public)
        assert response.status_code == 200 and CASE not in response.text and "licence check" not in response.text
    assert CASE in client.get("/v1/entries", headers=auth("investigator")).text


def test_licensed_parties_read_only_their_own_events_of_the_items_they_dealt_with(client, world, auth):  # noqa: ANN001
    uid = german_seizure(world)
    dealer = client.get(f"/v1/items/{uid}/events", headers=auth("de-jagd-schmidt")).json()
    assert [(e["type"], e["actor"]) for e in dealer["events"]] == [("transfer", "it-beretta"), ("receive", "de-jagd-schmidt")]
    maker = client.get(f"/v1/items/{uid}/events", headers=auth("it-beretta")).json()
    assert [e["type"] for e in maker["events"]] == ["mark_firearm", "transfer"]
    police = client.get(f"/v1/items/{uid}/events", headers=auth("de-police")).json()
    assert [e["type"] for e in police["events"]] == ["mark_firearm", "transfer", "receive", "seize"]
    assert police["events"][-1]["event"]["case"] == CASE


def test_police_and_customs_see_only_their_own_country_across_items(client, world, auth):  # noqa: ANN001
    german_seizure(world)
    german = client.get("/v1/investigations/diversion", headers=auth("de-police")).json()
    assert [h["party"] for h in german["hotspots"]] == ["de-jagd-schmidt"]
    assert client.get("/v1/investigations/diversion", headers=auth("be-police")).json()["hotspots"] == []
    body = assert_problem(client.get("/v1/investigations/diversion?country=DE", headers=auth("be-police")), 403, "forbidden")
    assert "BE" in body["detail"]
    assert "de-jagd-schmidt" in client.get("/investigations/network", headers=auth("de-police")).text
    assert "de-jagd-schmidt" not in client.get("/investigations/network", headers=auth("ke-customs")).text


def test_the_pages_take_the_login_cookie_with_the_same_scope(client, world, auth):  # noqa: ANN001
    uid = german_seizure(world)
    for party, status in (("de-police", 200), ("ke-customs", 403), ("de-jagd-schmidt", 303)):  # a dealer is sent to sign in
        client.cookies.set(COOKIE, token_of(party, auth))
        assert client.get(f"/investigations/items/{uid}", follow_redirects=False).status_code == status, party
    client.cookies.clear()
    signed_out = client.get(f"/investigations/items/{uid}", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == f"/investigations/login?why=signed-out&next=%2Finvestigations%2Fitems%2F{uid}"
