"""A serial typed off the item, with its maker, when the code cannot be read: the ledger's checks run,
and the verdict says that the label itself was not authenticated."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_problem


def typed(client, auth, serial: str, maker: str, party: str = "de-police", **extra) -> dict:  # noqa: ANN001, ANN003
    body = {"serial": serial, "maker": maker, "country": "DE", "location": "checkpoint 7", "direction": "inland", **extra}
    response = client.post("/v1/scan", json=body, headers=auth(party))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("maker", ["BER", "ber", "Beretta", "it-beretta"])
def test_a_typed_serial_of_a_clean_item_finds_it_but_is_not_authenticated(client, world, auth, maker):
    uid = world.firearm("it-beretta", serial="PX4-T-100")
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    answer = typed(client, auth, "px4-t-100", maker)
    assert answer["verdict"] == "SERIAL_NOT_AUTHENTICATED"
    assert answer["item"]["uid"] == uid and answer["status"] == "active"
    assert [r["verdict"] for r in answer["reasons"]] == ["SERIAL_NOT_AUTHENTICATED"]
    assert "PX4-T-100" in answer["reasons"][0]["detail"] and "typed" in answer["reasons"][0]["detail"]
    assert answer["advice"].startswith("Check by hand")


def test_the_maker_tells_apart_two_items_with_one_serial(client, world, auth):
    beretta = world.firearm("it-beretta", serial="SAME-1")
    glock = world.firearm("at-glock", serial="SAME-1")
    assert client.post("/v1/scan", json={"code": "SAME-1", "country": "DE", "location": "A5", "direction": "inland"},
                       headers=auth("de-police")).json()["verdict"] == "UNKNOWN_ITEM"
    assert typed(client, auth, "SAME-1", "GLK")["item"]["uid"] == glock
    assert typed(client, auth, "SAME-1", "Beretta")["item"]["uid"] == beretta
    unknown = typed(client, auth, "SAME-1", "Walther")
    assert unknown["verdict"] == "UNKNOWN_ITEM" and unknown["item"] is None
    assert unknown["reasons"][0]["detail"] == "no item of maker 'Walther' is registered under serial SAME-1"


def test_a_worse_finding_outranks_the_unauthenticated_serial(client, world, auth):
    uid = world.firearm("it-beretta", serial="PX4-T-200")
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    world.act("de-police", "report_stolen", item=uid, place="Frankfurt", details="burglary")
    answer = typed(client, auth, "PX4-T-200", "BER")
    assert answer["verdict"] == "REPORTED_LOST_STOLEN"
    assert {r["verdict"] for r in answer["reasons"]} == {"REPORTED_LOST_STOLEN", "SERIAL_NOT_AUTHENTICATED"}


@pytest.mark.parametrize(("body", "says"), [
    ({"serial": "PX4-T-1"}, "a typed `serial` needs the `maker`"),
    ({"code": "PX4-T-1", "serial": "PX4-T-1", "maker": "BER"}, "give either the scanned `code` or a typed `serial`"),
    ({}, "give the scanned `code`, or the `serial` and `maker`"),
    ({"code": "PX4-T-1", "maker": "BER"}, "`maker` goes with a typed `serial`"),
])
def test_code_or_serial_and_maker_each_alone_is_refused_saying_what_to_send(client, world, auth, body, says):
    problem = assert_problem(client.post("/v1/scan", json={"country": "DE", "location": "A5", **body}, headers=auth("de-police")),
                             422, "validation")
    assert says in problem["detail"], problem


def test_a_typed_serial_with_characters_no_serial_has_is_refused(client, world, auth):
    body = {"serial": "PX4 T 1", "maker": "BER", "country": "DE", "location": "A5"}
    problem = assert_problem(client.post("/v1/scan", json=body, headers=auth("de-police")), 422, "validation")
    assert problem["field"] == "serial", problem
