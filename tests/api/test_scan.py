"""The border scan: every verdict has a scenario that produces it, and the scan is recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from ulid import ULID

from api.app import create_app
from api.managed import create_managed_key
from ledger.demo import DemoParty
from ledger.log.checkpoint import verify_checkpoint
from ledger.log.codec import format_time
from ledger.log.keys import new_account
from ledger.log.merkle import verify_inclusion
from ledger.store.tables import Entry
from scanner.bundle import load_bundle, write_bundle
from scanner.claims import marking_verifier
from scanner.markings import issue_marking
from scanner.offline import verify_offline
from tests.api.conftest import assert_problem
from tests.conftest import NOW
from tests.support import World


def scan(client, auth, code: str, party: str = "de-police", country: str = "DE", direction: str = "inland", **extra) -> dict:  # noqa: ANN001, ANN003
    response = client.post("/v1/scan", json={"code": code, "country": country, "location": "checkpoint 7",
                                             "direction": direction, **extra}, headers=auth(party))
    assert response.status_code == 200, response.text
    return response.json()


def firearm_at_schmidt(world: World) -> str:
    uid = world.firearm("it-beretta")
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    return uid


def firearm_permit(world: World, **overrides) -> str:  # noqa: ANN003
    info = {"number": "DE-FA-EX-1", "kind": "firearm_export", "issuing_country": "DE", "exporter": "de-jagd-schmidt",
            "importer": "be-armurerie", "export_country": "DE", "import_country": "BE",
            "valid_from": format_time(NOW - timedelta(days=10)), "valid_until": format_time(NOW + timedelta(days=10)),
            "lines": [{"line": 1, "species": "pistol, 9x19mm", "quantity": "5", "unit": "pcs"}]} | overrides
    world.act("de-bfn", "issue_permit", permit=info)
    return info["number"]


def specimens(world: World, count: int = 1, quantity: str = "6") -> tuple[str, list[str]]:
    permit = world.issue_permit(quantity=quantity)
    return permit, [world.specimen(permit) for _ in range(count)]


def verdicts(answer: dict) -> set[str]:
    return {reason["verdict"] for reason in answer["reasons"]}


# ------------------------------------------------------------------ one scenario per verdict


def test_valid_firearm_held_by_a_licensed_dealer_in_the_scanning_country(client, world, auth, settings):
    uid = firearm_at_schmidt(world)
    answer = scan(client, auth, uid, declared={"serial": world.ledger.item(uid).serial})
    assert answer["verdict"] == "VALID" and answer["reasons"] == []
    assert answer["advice"].startswith("Release")
    assert answer["status"] == "active" and answer["item"]["uid"] == uid
    assert [link["party"] for link in answer["custody"]] == ["de-jagd-schmidt", "it-beretta"]
    checkpoint = verify_checkpoint(answer["proof"]["checkpoint"]["note"], settings.verifier_key(), settings.origin)
    for path in answer["proof"]["entries"]:
        leaf = world.ledger.entries(path["seq"], path["seq"] + 1)[0].leaf_hash
        verify_inclusion(leaf, path["seq"], checkpoint.size, [bytes.fromhex(h) for h in path["proof"]], checkpoint.root)
    assert len(answer["proof"]["entries"]) == 3


@pytest.mark.parametrize("code", ["PX4\u200b-DE-001", "\uff30\uff38\uff14-DE-001", "P\u0425-1", "!!!", "https://evil.example/x/1"])
def test_malformed_code_for_invisible_fullwidth_lookalike_and_foreign_codes(client, world, auth, code):
    answer = scan(client, auth, code)
    assert answer["verdict"] == "MALFORMED_CODE" and answer["item"] is None
    assert answer["inspection"]["recorded"] is False


def test_unknown_item_by_id_and_by_serial(client, world, auth):
    assert scan(client, auth, str(ULID()))["verdict"] == "UNKNOWN_ITEM"
    assert scan(client, auth, "NO-SUCH-SERIAL")["verdict"] == "UNKNOWN_ITEM"


def test_signature_invalid_when_the_stored_marking_signature_was_tampered(client, world, auth, ledger):
    uid = firearm_at_schmidt(world)
    other = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    with ledger.writing() as session:
        session.execute(update(Entry).where(Entry.seq == ledger.item(uid).marked_seq).values(signature=other["signature"]))
    assert scan(client, auth, uid)["verdict"] == "SIGNATURE_INVALID"


def test_a_marking_tampered_after_it_was_scanned_is_still_caught(client, world, auth, ledger):
    """The marking signature's check is remembered per process, keyed by the stored bytes: new bytes, new check."""
    uid = firearm_at_schmidt(world)
    assert scan(client, auth, uid)["verdict"] == "VALID"
    other = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    with ledger.writing() as session:
        session.execute(update(Entry).where(Entry.seq == ledger.item(uid).marked_seq).values(signature=other["signature"]))
    assert scan(client, auth, uid)["verdict"] == "SIGNATURE_INVALID"


def test_signature_invalid_when_the_qr_signature_does_not_verify(settings, ledger, world, auth):
    uid = firearm_at_schmidt(world)
    code = f"HTTPS://TRACEMARK.LOCAL/I/{uid}/BER.X/SIGNATURE"
    with TestClient(create_app(settings, ledger=ledger, marking_verifier=lambda c, item: c.signature == "GOOD")) as client:
        answer = scan(client, auth, code)
        assert answer["verdict"] == "SIGNATURE_INVALID" and answer["item"]["uid"] == uid
        assert scan(client, auth, code.replace("SIGNATURE", "GOOD"))["verdict"] == "VALID"


def test_a_genuine_code_of_another_host_is_refused_as_the_offline_scanner_refuses_it(settings, ledger, world, auth, tmp_path):
    """The maker signed it, for codes pointing to another log's host: it is not this log's code."""
    uid = firearm_at_schmidt(world)
    code = issue_marking(ledger, uid, world.parties["it-beretta"].account, host="scan.example.org:8443").payload
    with TestClient(create_app(settings, ledger=ledger, marking_verifier=marking_verifier(ledger))) as client:
        answer = scan(client, auth, code)
    assert answer["verdict"] == "SIGNATURE_INVALID", answer
    write_bundle(ledger, tmp_path / "bundle.json")
    offline = verify_offline(code, load_bundle(tmp_path / "bundle.json", ledger.log_key.verifier_key, ledger.origin), ledger.clock())
    assert (offline.verdict, offline.reasons[0].detail) == (answer["verdict"], answer["reasons"][0]["detail"])
    assert answer["reasons"][0]["detail"].startswith("the code points to SCAN.EXAMPLE.ORG:8443, not to TRACEMARK.LOCAL")
    with TestClient(create_app(settings, ledger=ledger, marking_verifier=marking_verifier(ledger),
                               public_host="SCAN.example.org:8443")) as client:
        assert scan(client, auth, code)["verdict"] == "VALID"


def test_key_revoked_when_the_makers_key_is_revoked_from_before_the_marking(client, world, auth):
    uid = firearm_at_schmidt(world)
    beretta = world.parties["it-beretta"].account.address
    world.act("registry", "revoke_key", party="it-beretta", address=beretta,
              from_time=format_time(world.clock - timedelta(days=1)), reason="key stolen")
    assert scan(client, auth, uid)["verdict"] == "KEY_REVOKED"


def test_marking_mismatch_when_the_declared_serial_differs(client, world, auth):
    uid = firearm_at_schmidt(world)
    answer = scan(client, auth, uid, declared={"serial": "PX4-DE-999"})
    assert answer["verdict"] == "MARKING_MISMATCH" and "PX4-DE-999" in answer["reasons"][0]["detail"]


def test_reported_lost_or_stolen(client, world, auth):
    uid = firearm_at_schmidt(world)
    world.act("de-jagd-schmidt", "report_lost", item=uid, place="warehouse", details="stock count")
    answer = scan(client, auth, uid)
    assert answer["verdict"] == "REPORTED_LOST_STOLEN" and answer["advice"].startswith("Detain")


def test_seized_names_the_seizing_authority(client, world, auth):
    uid = firearm_at_schmidt(world)
    world.act("de-police", "seize", item=uid, country="DE", place="Offenbach", reason="check")
    answer = scan(client, auth, uid, party="de-customs")
    assert answer["verdict"] == "SEIZED" and "de-police" in answer["advice"]


def test_destroyed_or_deactivated(client, world, auth):
    uid = firearm_at_schmidt(world)
    world.act("de-jagd-schmidt", "deactivate", item=uid, method="EU 2015/2403", reason="sold as deactivated")
    assert scan(client, auth, uid)["verdict"] == "DESTROYED_DEACTIVATED"


def test_custody_mismatch_when_the_item_is_not_travelling_through_this_country(client, world, auth):
    uid = firearm_at_schmidt(world)
    answer = scan(client, auth, uid, party="ke-customs", country="KE", direction="import")
    assert answer["verdict"] == "CUSTODY_MISMATCH"


def test_licence_invalid_when_the_holders_licence_has_lapsed(client, world, auth):
    account = new_account()
    world.parties["de-lapsed"] = DemoParty("de-lapsed", "dealer", "DE", account, world.ledger.origin)
    world.act("registry", "register_party", party={
        "id": "de-lapsed", "name": "Lapsed Licence GmbH", "role": "dealer", "country": "DE", "addresses": [account.address],
        "licence_number": "DE-OLD-1", "licence_valid_from": format_time(NOW - timedelta(days=400)),
        "licence_valid_until": format_time(NOW - timedelta(hours=12))})  # lapsed after the shipment
    uid = world.firearm("it-beretta")
    world.ship(uid, "it-beretta", "de-lapsed")
    answer = scan(client, auth, uid)
    assert answer["verdict"] == "LICENCE_INVALID" and "de-lapsed" in answer["reasons"][0]["detail"]


def test_permit_missing_for_a_firearm_export_without_an_authorisation(client, world, auth):
    uid = firearm_at_schmidt(world)
    assert scan(client, auth, uid, party="de-customs", direction="export")["verdict"] == "PERMIT_MISSING"


def test_permit_not_yet_valid(client, world, auth):
    uid = firearm_at_schmidt(world)
    firearm_permit(world, valid_from=format_time(NOW + timedelta(days=3)), valid_until=format_time(NOW + timedelta(days=30)))
    answer = scan(client, auth, uid, party="de-customs", direction="export")
    assert answer["verdict"] == "PERMIT_NOT_YET_VALID" and answer["permit"]["number"] == "DE-FA-EX-1"


def test_permit_expired(client, world, auth):
    uid = firearm_at_schmidt(world)
    firearm_permit(world, valid_from=format_time(NOW - timedelta(days=90)), valid_until=format_time(NOW - timedelta(days=1)))
    assert scan(client, auth, uid, party="de-customs", direction="export")["verdict"] == "PERMIT_EXPIRED"


def test_permit_cancelled(client, world, auth):
    permit, (uid,) = specimens(world)
    world.act("ke-kws", "cancel_permit", permit=permit, reason="quota revised")
    assert scan(client, auth, uid, party="ke-customs", country="KE", direction="export")["verdict"] == "PERMIT_CANCELLED"


def test_quantity_exhausted_when_earlier_shipments_used_the_permit_line(client, world, auth):
    permit, uids = specimens(world, count=3, quantity="2")
    world.export(uids[0], permit)
    world.export(uids[1], permit)
    answer = scan(client, auth, uids[2], party="ke-customs", country="KE", direction="export")
    assert answer["verdict"] == "QUANTITY_EXHAUSTED"
    assert answer["permit"]["lines"][0]["remaining"] == "0"


def test_route_country_mismatch_when_the_declared_destination_is_not_the_permits(client, world, auth):
    permit, (uid,) = specimens(world)
    answer = scan(client, auth, uid, party="ke-customs", country="KE", direction="export", declared={"destination": "FR"})
    assert answer["verdict"] == "ROUTE_COUNTRY_MISMATCH"
    assert scan(client, auth, uid, party="ke-customs", country="KE", direction="export",
                declared={"destination": "DE", "species": "crocodylus niloticus", "quantity": "1"})["verdict"] == "VALID"


def test_clone_suspected_when_seen_in_two_countries_hours_apart_without_a_crossing(client, world, auth, ledger):
    uid = world.firearm("it-beretta")
    world.act("it-beretta", "transfer", item=uid, to="de-jagd-schmidt", reference="IT-DE-1")  # on its way
    seen_in_de = world.envelope("de-police", "inspect", at=NOW, item=uid, country="DE", location="A5",
                                direction="transit", verdict="VALID")
    first = scan(client, auth, uid, country="DE", direction="transit", inspect=seen_in_de)
    assert first["verdict"] == "VALID" and first["inspection"] == {**first["inspection"], "recorded": True, "signed_by": "client"}
    ledger.move_clock(timedelta(hours=3))
    answer = scan(client, auth, uid, party="be-police", country="BE", direction="transit")
    assert answer["verdict"] == "CLONE_SUSPECTED"
    assert any(r["verdict"] == "CLONE_SUSPECTED" and "DE" in r["detail"] for r in answer["reasons"])
    ledger.move_clock(timedelta(hours=10))
    assert scan(client, auth, uid, party="be-police", country="BE", direction="transit")["verdict"] == "VALID"


def test_a_voided_inspection_is_no_sighting(client, world, auth, ledger):
    uid = firearm_at_schmidt(world)
    mistaken = world.envelope("de-police", "inspect", at=NOW, item=uid, country="DE", location="A5", direction="inland", verdict="VALID")
    seq = scan(client, auth, uid, inspect=mistaken)["inspection"]["seq"]
    world.act("de-police", "void_inspection", at=NOW, item=uid, inspection_seq=seq, reason="scanned the wrong pistol")
    ledger.move_clock(timedelta(hours=3))
    assert scan(client, auth, uid, party="be-police", country="BE", direction="transit")["verdict"] != "CLONE_SUSPECTED"


# ------------------------------------------------------------------ recording, lookup, auth


def test_a_managed_key_lets_the_server_sign_the_inspection(client, world, auth, ledger, settings):
    uid = firearm_at_schmidt(world)
    create_managed_key(ledger, settings, "de-police", world.parties["registry"].account, iterations=2**4)
    answer = scan(client, auth, uid)
    record = answer["inspection"]
    assert record["recorded"] is True and record["signed_by"] == "server"
    entry = ledger.entries(record["seq"], record["seq"] + 1)[0]
    assert entry.event_type == "inspect" and entry.actor == "de-police" and b'"verdict":"VALID"' in entry.event
    assert record["seq"] in {p["seq"] for p in answer["proof"]["entries"]}


def test_without_a_managed_key_or_signed_event_the_scan_answers_but_is_not_recorded(client, world, auth, ledger):
    uid = firearm_at_schmidt(world)
    size = ledger.size()
    answer = scan(client, auth, uid)
    assert answer["verdict"] == "VALID" and answer["inspection"]["recorded"] is False
    assert "no managed key" in answer["inspection"]["detail"]
    assert ledger.size() == size


def test_a_signed_inspect_of_another_item_is_not_recorded(client, world, auth):
    uid, other = firearm_at_schmidt(world), firearm_at_schmidt(world)
    envelope = world.envelope("de-police", "inspect", at=NOW, item=other, country="DE", location="A5", direction="inland", verdict="VALID")
    answer = scan(client, auth, uid, inspect=envelope)
    assert answer["inspection"]["recorded"] is False and other not in answer["inspection"]["detail"]


def test_lookup_by_serial_and_by_lower_case_qr_url(client, world, auth):
    uid = firearm_at_schmidt(world)
    serial = world.ledger.item(uid).serial
    assert scan(client, auth, f"  {serial.lower()} ")["item"]["uid"] == uid
    assert scan(client, auth, f"https://tracemark.local/i/{uid.lower()}/ber.x/sig")["item"]["uid"] == uid


def test_only_customs_and_police_scan(client, world, auth):
    uid = firearm_at_schmidt(world)
    body = {"code": uid, "country": "DE", "location": "shop", "direction": "inland"}
    assert_problem(client.post("/v1/scan", json=body, headers=auth("de-jagd-schmidt")), 403, "forbidden")
    assert_problem(client.post("/v1/scan", json=body), 401, "unauthorized")
    assert_problem(client.post("/v1/scan", json={"code": uid}), 401, "unauthorized")  # who asks comes before what is asked


def test_bad_scan_input_is_422_naming_the_field(client, world, auth):
    base = {"code": "X", "country": "DE", "location": "A5"}
    cases = {"country": {**base, "country": "ZZ"}, "direction": {**base, "direction": "sideways"},
             "code": {**base, "code": "x" * 600}, "declared.quantity": {**base, "declared": {"quantity": "1e9"}},
             "declared.colour": {**base, "declared": {"colour": "red"}}, "location": {**base, "location": 7}}
    for field, body in cases.items():
        problem = assert_problem(client.post("/v1/scan", json=body, headers=auth("de-police")), 422, "validation")
        assert problem["field"] == field, problem


@pytest.mark.parametrize(("raw", "detail"), [(b"", "body: Field required"), (b'{"code": "X",', "body.13: JSON decode error"),
                                             (b'{"code": "\xff"}', "body.10: JSON decode error"),
                                             (b'["X", "DE"]', "body: Input should be a valid dictionary")])
def test_a_scan_body_that_is_missing_or_not_a_json_object_is_422(client, world, auth, raw, detail):  # noqa: ANN001
    headers = {**auth("de-police"), "Content-Type": "application/json"}
    problem = assert_problem(client.post("/v1/scan", content=raw, headers=headers), 422, "validation")
    assert problem["detail"].startswith(detail), problem


def test_openapi_documents_the_scan_body_answer_and_key(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/scan"]["post"]
    assert operation["requestBody"] == {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScanRequest"}}}}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ScanOut"}
    assert operation["security"] == [{"HTTPBearer": []}]
    components = schema["components"]["schemas"]
    assert {"code", "country", "location", "direction", "declared", "inspect"} <= components["ScanRequest"]["properties"].keys()
    assert components["ScanRequest"]["properties"]["declared"] == {"$ref": "#/components/schemas/Declared"}
    assert "serial" in components["Declared"]["properties"] and "signature" in components["Envelope"]["properties"]
