"""The investigation routes: traces, the diversion ranking and the EPCIS export, for investigators only."""

from __future__ import annotations

import json
from collections.abc import Callable

import jsonschema
from fastapi.testclient import TestClient

from ledger.store.ledger import Ledger
from tests.api.conftest import assert_problem
from tests.conftest import TESTDATA
from tests.support import World

SCHEMA = json.loads((TESTDATA / "epcis" / "EPCIS-JSON-Schema.json").read_text())


def stolen_and_seized(world: World) -> str:
    uid = world.firearm()
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    world.act("de-jagd-schmidt", "report_stolen", item=uid, place="Frankfurt", details="shop break-in")
    world.act("be-police", "seize", item=uid, country="BE", place="Liege", reason="street sale")
    return uid


def test_trace_route_gives_the_diversion_and_proofs(client: TestClient, world: World, ledger: Ledger,
                                                    auth: Callable[[str], dict[str, str]]) -> None:
    uid = stolen_and_seized(world)
    ledger.checkpoint()
    body = client.get(f"/v1/trace/{uid}", headers=auth("investigator")).json()
    assert body["diversion"]["kind"] == "theft" and body["last_legit_custodian"] == "de-jagd-schmidt"
    assert all(step["proof"] is not None for step in body["steps"])
    assert body["checkpoint"]["size"] == ledger.size()


def test_trace_needs_an_investigating_role(client: TestClient, world: World, auth: Callable[[str], dict[str, str]]) -> None:
    uid = stolen_and_seized(world)
    assert_problem(client.get(f"/v1/trace/{uid}", headers=auth("de-jagd-schmidt")), 403, "forbidden")
    assert_problem(client.get(f"/v1/trace/{uid}"), 401, "unauthorized")
    assert_problem(client.get(f"/v1/trace/{'0' * 26}", headers=auth("investigator")), 404, "not-found/item")


def test_diversion_route_ranks_and_filters(client: TestClient, world: World, auth: Callable[[str], dict[str, str]]) -> None:
    stolen_and_seized(world)
    stolen_and_seized(world)
    body = client.get("/v1/investigations/diversion", headers=auth("de-police")).json()
    assert [(h["party"], h["items"]) for h in body["hotspots"]] == [("de-jagd-schmidt", 2)]
    assert body["routes"] == [{"origin": "DE", "found": "BE", "items": 2}]
    assert client.get("/v1/investigations/diversion?country=KE", headers=auth("investigator")).json()["hotspots"] == []
    bad = assert_problem(client.get("/v1/investigations/diversion?kind=burglary", headers=auth("de-police")), 422, "event-invalid")
    assert bad["field"] == "kind"


def test_epcis_route_validates(client: TestClient, world: World, ledger: Ledger, auth: Callable[[str], dict[str, str]]) -> None:
    uid = stolen_and_seized(world)
    ledger.checkpoint()
    response = client.get(f"/v1/epcis/events?item={uid}", headers=auth("investigator"))
    assert response.headers["content-type"].startswith("application/ld+json")
    document = response.json()
    jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(document)
    assert [e["tm:entry"]["type"] for e in document["epcisBody"]["eventList"]] == ["mark_firearm", "transfer", "receive", "report_stolen", "seize"]
