"""Writes: receipts with proofs, idempotency, replays, rule refusals, batches, bad input."""

from __future__ import annotations

import functools
import json

from fastapi.testclient import TestClient
from ulid import ULID

from api.app import create_app
from ledger.log.checkpoint import verify_checkpoint
from ledger.log.merkle import verify_inclusion
from ledger.store import appender as store
from tests.api.conftest import assert_problem


def test_post_event_returns_a_receipt_whose_proof_verifies_against_the_signed_checkpoint(client, world, auth, settings):
    uid = str(ULID())
    envelope = world.envelope("it-beretta", "mark_firearm", item=uid, marking=world.marking())
    response = client.post("/v1/events", json=envelope, headers=auth("it-beretta"))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["seq"] == world.ledger.size() - 1 and receipt["duplicate"] is False
    checkpoint = verify_checkpoint(receipt["checkpoint"]["note"], settings.verifier_key(), settings.origin)
    assert checkpoint.size == receipt["checkpoint"]["size"] > receipt["seq"]
    verify_inclusion(bytes.fromhex(receipt["leaf_hash"]), receipt["seq"], checkpoint.size,
                     [bytes.fromhex(h) for h in receipt["inclusion_proof"]], checkpoint.root)
    assert world.ledger.item(uid).custodian == "it-beretta"


def test_resending_the_same_signed_event_returns_the_original_receipt(client, world, auth):
    envelope = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    first = client.post("/v1/events", json=envelope, headers=auth("it-beretta")).json()
    size = world.ledger.size()
    again = client.post("/v1/events", json=envelope, headers=auth("it-beretta"))
    assert again.status_code == 201
    assert again.json()["seq"] == first["seq"] and again.json()["duplicate"] is True
    assert world.ledger.size() == size


def test_a_replayed_signature_on_a_different_event_is_refused(client, world, auth):
    envelope = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    assert client.post("/v1/events", json=envelope, headers=auth("it-beretta")).status_code == 201
    forged = {**envelope, "event": {**envelope["event"], "item": str(ULID())}}
    size = world.ledger.size()
    response = client.post("/v1/events", json=forged, headers=auth("it-beretta"))
    assert_problem(response, 422, "signature/signature_invalid")
    assert world.ledger.size() == size


def test_a_rule_refusal_is_409_with_the_rule_name_and_appends_nothing(client, world, auth):
    uid = world.firearm("it-beretta")
    size = world.ledger.size()
    envelope = world.envelope("de-jagd-schmidt", "transfer", item=uid, to="be-armurerie", reference="X-1")
    body = assert_problem(client.post("/v1/events", json=envelope, headers=auth("de-jagd-schmidt")), 409,
                          "rule-violation/not_custodian")
    assert body["rule"] == "not_custodian" and "de-jagd-schmidt" in body["detail"]
    assert world.ledger.size() == size


def test_an_invalid_event_names_the_field(client, world, auth):
    envelope = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking={**world.marking(), "year": "2025"})
    body = assert_problem(client.post("/v1/events", json=envelope, headers=auth("it-beretta")), 422, "event-invalid")
    assert body["field"] == "marking.year"


def test_a_batch_is_one_group_commit_with_a_receipt_per_event(client, world, auth):
    uids = [str(ULID()) for _ in range(3)]
    envelopes = [world.envelope("it-beretta", "mark_firearm", item=u, marking=world.marking()) for u in uids]
    response = client.post("/v1/events:batch", json={"envelopes": envelopes}, headers=auth("it-beretta"))
    assert response.status_code == 201, response.text
    receipts = response.json()["receipts"]
    assert [r["seq"] for r in receipts] == list(range(receipts[0]["seq"], receipts[0]["seq"] + 3))
    assert {world.ledger.item(u).status for u in uids} == {"active"}


def test_a_refused_batch_names_the_first_refused_index_and_appends_nothing(client, world, auth):
    uid = str(ULID())
    envelopes = [
        world.envelope("it-beretta", "mark_firearm", item=uid, marking=world.marking()),
        world.envelope("it-beretta", "transfer", item=uid, to="de-jagd-schmidt", reference="R-1"),
        world.envelope("it-beretta", "transfer", item=uid, to="be-armurerie", reference="R-2"),
    ]
    size = world.ledger.size()
    body = assert_problem(client.post("/v1/events:batch", json={"envelopes": envelopes}, headers=auth("it-beretta")),
                          409, "rule-violation/transfer_pending")
    assert body["index"] == 2
    assert world.ledger.size() == size


def test_an_event_whose_judging_fails_is_a_problem_naming_it_and_appends_nothing(client, world, auth, monkeypatch):
    doomed = str(ULID())
    envelopes = [world.envelope("it-beretta", "mark_firearm", item=item, marking=world.marking()) for item in (str(ULID()), doomed)]
    monkeypatch.setattr(store, "check_event", functools.partial(_failing_for, doomed, store.check_event))
    size = world.ledger.size()
    body = assert_problem(client.post("/v1/events:batch", json={"envelopes": envelopes}, headers=auth("it-beretta")), 500, "event-failed")
    assert body["index"] == 1 and "ArithmeticError" in body["detail"] and "a rule's own bug" not in body["detail"]
    assert_problem(client.post("/v1/events", json=envelopes[1], headers=auth("it-beretta")), 500, "event-failed")
    assert world.ledger.size() == size


def _failing_for(doomed: str, check_event, event, *args):  # noqa: ANN001, ANN002, ANN202
    if event.item == doomed:
        raise ArithmeticError("a rule's own bug")
    return check_event(event, *args)


def test_a_batch_over_ten_thousand_is_refused_by_validation(client, auth):
    envelope = {"event": {}, "signer": "0x0", "signature": "0x0"}
    body = assert_problem(client.post("/v1/events:batch", json={"envelopes": [envelope] * 10_001}, headers=auth("registry")),
                          422, "validation")
    assert body["field"] == "envelopes"


def test_a_party_posts_only_its_own_events(client, world, auth):
    envelope = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    assert_problem(client.post("/v1/events", json=envelope, headers=auth("at-glock")), 403, "forbidden")


def test_malformed_json_wrong_types_and_unknown_fields_are_422_naming_the_field(client, world, auth):
    headers = {**auth("it-beretta"), "content-type": "application/json"}
    assert_problem(client.post("/v1/events", content=b'{"event": {', headers=headers), 422, "validation")
    body = assert_problem(client.post("/v1/events", json={"event": [], "signer": "0x1", "signature": "0x2"}, headers=headers),
                          422, "validation")
    assert body["field"] == "event"
    envelope = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    body = assert_problem(client.post("/v1/events", json={**envelope, "extra": 1}, headers=headers), 422, "validation")
    assert body["field"] == "extra"
    body = assert_problem(client.post("/v1/events", json={**envelope, "signer": "not-an-address"}, headers=headers),
                          422, "event-invalid")
    assert body["field"] == "signer"


def test_a_huge_body_is_413_whether_declared_or_streamed(settings, ledger, world, auth):
    with TestClient(create_app(settings, ledger=ledger, max_body=10_000)) as small:
        payload = json.dumps({"envelopes": [{"event": {"pad": "x" * 20_000}, "signer": "0x", "signature": "0x"}]}).encode()
        assert_problem(small.post("/v1/events:batch", content=payload, headers=auth("registry")), 413, "body-too-large")

        def chunks():  # no Content-Length: the limit counts streamed bytes
            for _ in range(20):
                yield b"x" * 1000

        assert_problem(small.post("/v1/events:batch", content=chunks(), headers=auth("registry")), 413, "body-too-large")
        assert small.get("/healthz").status_code == 200
