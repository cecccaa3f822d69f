"""Hostile input: the authorisation matrix, forged and replayed events, oversized and nested bodies, injection.

Every refusal is 401/403/409/413/422 problem+json and appends nothing; nothing is ever a 500.
"""

from __future__ import annotations

import html
from datetime import timedelta

from fastapi.testclient import TestClient
from ulid import ULID

from api.app import create_app
from ledger.log.codec import format_time
from ledger.store.tables import Entry
from tests.api.conftest import assert_problem
from tests.support import World

CALLERS = ["registry", "ke-kws", "it-beretta", "at-glock", "de-jagd-schmidt", "ke-croc-ranch", "de-customs", "de-police", "investigator"]
ENFORCEMENT = {"de-customs", "de-police"}


def allowed(event_type: str, party: str) -> bool:
    """What the rules let each caller do to a fresh item marked by it-beretta (or by itself, for a maker),
    held by a German dealer for a seizure."""
    return {"mark_firearm": party in ("it-beretta", "at-glock"), "seize": party in ENFORCEMENT,
            "inspect": party in ENFORCEMENT, "transfer": party in ("it-beretta", "at-glock")}[event_type]


def envelope(world: World, event_type: str, actor: str) -> dict:
    maker = actor if actor in ("it-beretta", "at-glock") else "it-beretta"
    if event_type == "mark_firearm":
        return world.envelope(actor, "mark_firearm", item=str(ULID()), marking=world.marking(maker))
    uid = world.firearm(maker)
    if event_type == "seize":  # customs and police seize at home: what is held in Germany
        world.ship(uid, maker, "de-jagd-schmidt")
    fields = {"seize": dict(country="DE", place="FRA", reason="no papers"),
              "inspect": dict(country="DE", location="FRA", direction="import", verdict="GENUINE"),
              "transfer": dict(to="de-jagd-schmidt", reference="R-1")}[event_type]
    return world.envelope(actor, event_type, item=uid, **fields)


def post(client: TestClient, path: str, env: dict, headers: dict) -> object:
    return client.post(path, json=env if path == "/v1/events" else {"envelopes": [env]}, headers=headers)


def test_the_authorisation_matrix(client, world, auth, ledger):  # noqa: ANN001, F811
    """Every write endpoint x every role x {own event, another party's event}: only what the rules allow succeeds.

    Who may call each route at all is tests/api/test_access.py's table, cell by cell."""
    cells = 0
    for path in ("/v1/events", "/v1/events:batch"):
        for event_type in ("mark_firearm", "seize", "inspect", "transfer"):
            for caller in CALLERS:
                own = envelope(world, event_type, caller)
                size = ledger.size()
                response = post(client, path, own, auth(caller))
                if allowed(event_type, caller):
                    assert response.status_code == 201, (path, event_type, caller, response.text)
                    assert ledger.size() == size + 1
                else:
                    assert response.status_code in (403, 409), (path, event_type, caller, response.text)
                    assert ledger.size() == size
                victim = next(p for p in CALLERS if p != caller and allowed(event_type, p))
                theirs = envelope(world, event_type, victim)  # properly signed by its own party
                size = ledger.size()
                response = post(client, path, theirs, auth(caller))
                if caller == "registry":  # an admin relays anyone's signed events; the signature decides
                    assert response.status_code == 201, response.text
                    assert ledger.size() == size + 1
                else:
                    assert_problem(response, 403, "forbidden")
                    assert ledger.size() == size
                assert_problem(post(client, path, envelope(world, event_type, caller), {}), 401, "unauthorized")
                cells += 3
    assert cells == 2 * 4 * len(CALLERS) * 3


def test_forged_revoked_replayed_and_future_events_are_refused(client, world, auth, ledger):  # noqa: ANN001, F811
    headers = auth("it-beretta")
    good = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    forged = {**good, "signature": good["signature"][:-4] + ("0000" if not good["signature"].endswith("0000") else "1111")}
    size = ledger.size()
    assert client.post("/v1/events", json=forged, headers=headers).status_code == 422
    stranger = {**good, "event": {**good["event"], "actor": "at-glock"}}  # signed by Beretta, claims Glock
    assert client.post("/v1/events", json=stranger, headers=auth("at-glock")).status_code == 422
    assert client.post("/v1/events", json=good, headers=headers).status_code == 201
    replay = client.post("/v1/events", json=good, headers=headers)
    assert replay.status_code == 201 and replay.json()["duplicate"] is True  # stored once, inert
    assert ledger.size() == size + 1
    future = world.envelope("it-beretta", "mark_firearm", at=ledger.clock() + timedelta(days=1), item=str(ULID()), marking=world.marking())
    assert_problem(client.post("/v1/events", json=future, headers=headers), 409, "rule-violation/time_in_future")
    old_key = world.parties["it-beretta"].account
    world.act("registry", "revoke_key", party="it-beretta", address=old_key.address, from_time=format_time(world.tick()),
              reason="laptop stolen")
    revoked = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    body = client.post("/v1/events", json=revoked, headers=headers)
    assert body.status_code == 422 and "signature/key_revoked" in body.json()["type"], body.text
    assert ledger.size() == size + 2  # the good event and the revocation


def test_oversized_and_deeply_nested_bodies_are_refused_not_500(settings, ledger, world, auth):  # noqa: ANN001, F811
    with TestClient(create_app(settings, ledger=ledger, max_body=64 * 1024), raise_server_exceptions=False) as small:
        assert_problem(small.post("/v1/events", content=b"{" + b" " * 100_000 + b"}", headers=auth("it-beretta")), 413, "body-too-large")
        for depth in (100, 10_000, 30_000):
            nested = "[" * depth + "]" * depth
            response = small.post("/v1/events", content=nested, headers={**auth("it-beretta"), "content-type": "application/json"})
            assert response.status_code in (413, 422), (depth, response.status_code, response.text[:200])
            deep = '{"event":' + '{"a":' * depth + "1" + "}" * depth + ',"signer":"0x","signature":"0x"}'
            response = small.post("/v1/events", content=deep, headers={**auth("it-beretta"), "content-type": "application/json"})
            assert response.status_code in (403, 413, 422), (depth, response.status_code, response.text[:200])


INJECTIONS = ["'; DROP TABLE entry; --", "<script>alert(1)</script>", "\" onmouseover=\"alert(1)", "Robert'); DELETE FROM item;--"]


def test_sql_and_html_injection_in_free_text_is_stored_inert_and_escaped(client, world, auth, ledger):  # noqa: ANN001, F811
    for text in INJECTIONS:
        marking = {**world.marking(), "make": text[:60], "model": text[:60]}
        uid = str(ULID())
        env = world.envelope("it-beretta", "mark_firearm", item=uid, marking=marking)
        response = client.post("/v1/events", json=env, headers=auth("it-beretta"))
        assert response.status_code in (201, 422), response.text  # a field's pattern may refuse it; never a 500
        if response.status_code != 201:
            continue
        transfer = world.envelope("it-beretta", "transfer", item=uid, to="de-jagd-schmidt", reference=text[:60])
        assert client.post("/v1/events", json=transfer, headers=auth("it-beretta")).status_code in (201, 422)
        seize = world.envelope("de-police", "seize", item=uid, country="DE", place=text[:60], reason=text)
        assert client.post("/v1/events", json=seize, headers=auth("de-police")).status_code in (201, 422)
        page = client.get(f"/i/{uid}")
        assert page.status_code == 200
        assert "<script>alert(1)</script>" not in page.text and '" onmouseover="' not in page.text
        if "<script>" in text:
            assert html.escape(text[:60]) in page.text or html.escape(text[:60], quote=False) in page.text
    assert ledger.count(Entry) == ledger.size()  # the tables are all there
