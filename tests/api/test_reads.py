"""Reads: items, their events with proofs, permits, parties, checkpoint, proofs, raw entries, the item page."""

from __future__ import annotations

from ledger.domain.personal import commit
from ledger.log.checkpoint import verify_checkpoint
from ledger.log.entry import entry_leaf_hash
from ledger.log.merkle import verify_consistency, verify_inclusion
from tests.api.conftest import assert_problem


def sold_to_owner(world) -> tuple[str, str]:  # noqa: ANN001
    uid = world.firearm("it-beretta")
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    commitment, salt = commit("Erika Mustermann", "Heidestrasse 17, 51147 Koeln")
    world.act("de-jagd-schmidt", "transfer", personal={"salt": salt, "name": "Erika Mustermann", "address": "Heidestrasse 17, 51147 Koeln"},
              item=uid, owner_commitment=commitment, reference="WBK 1/2026")
    return uid, commitment


def test_item_state_and_personal_data_only_for_investigators_and_the_items_authorities(client, world, auth):
    uid, commitment = sold_to_owner(world)
    for party in ("investigator", "de-police"):
        item = client.get(f"/v1/items/{uid}", headers=auth(party)).json()
        assert item["owner"]["name"] == "Erika Mustermann" and item["owner_commitment"] == commitment
    for party in ("de-jagd-schmidt", "be-police", "it-beretta"):
        item = client.get(f"/v1/items/{uid}", headers=auth(party)).json()
        assert item["owner"] is None and item["status"] == "active" and item["custodian"] is None
    assert_problem(client.get("/v1/items/01JD5Z8Q6Y3K7W2N4R9T0V1X2A", headers=auth("investigator")), 404, "not-found/item")


def test_item_events_carry_proofs_against_the_signed_checkpoint(client, world, auth, settings):
    uid, _ = sold_to_owner(world)
    body = client.get(f"/v1/items/{uid}/events", headers=auth("investigator")).json()
    assert [e["type"] for e in body["events"]] == ["mark_firearm", "transfer", "receive", "transfer"]
    checkpoint = verify_checkpoint(body["checkpoint"]["note"], settings.verifier_key(), settings.origin)
    for event in body["events"]:
        verify_inclusion(bytes.fromhex(event["leaf_hash"]), event["seq"], checkpoint.size,
                         [bytes.fromhex(h) for h in event["inclusion_proof"]], checkpoint.root)
    assert "Erika" not in str(body)


def test_permit_lines_show_endorsed_and_remaining_quantities(client, world, auth):
    permit = world.issue_permit(quantity="6")
    uid = world.specimen(permit)
    world.export(uid, permit)
    body = client.get(f"/v1/permits/{permit}", headers=auth("ke-customs")).json()
    assert body["exporter"] == "ke-croc-ranch" and body["status"] == "valid"
    assert body["lines"][0] | {} == {**body["lines"][0], "quantity": "6", "endorsed": "1", "remaining": "5"}
    assert_problem(client.get("/v1/permits/NOPE-1", headers=auth("ke-customs")), 404, "not-found/permit")


def test_party_with_its_keys(client, world, auth):
    body = client.get("/v1/parties/de-jagd-schmidt", headers=auth("ke-customs")).json()
    assert body["role"] == "dealer" and body["licence_number"] == "LIC-de-jagd-schmidt"
    assert body["keys"] == [{"address": world.parties["de-jagd-schmidt"].account.address, "added_seq": body["keys"][0]["added_seq"],
                             "revoked_from": None}]
    assert_problem(client.get("/v1/parties/nobody", headers=auth("ke-customs")), 404, "not-found/party")


def test_checkpoint_is_the_signed_note_as_text(client, settings, ledger):
    response = client.get("/v1/checkpoint")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    checkpoint = verify_checkpoint(response.text, settings.verifier_key(), settings.origin)
    assert checkpoint.size == ledger.size() and checkpoint.root == ledger.root()


def test_public_inclusion_and_consistency_proofs_verify(client, ledger):
    size = ledger.size()
    body = client.get(f"/v1/proofs/inclusion?seq=3&size={size}").json()
    verify_inclusion(bytes.fromhex(body["leaf_hash"]), 3, size, [bytes.fromhex(h) for h in body["proof"]], bytes.fromhex(body["root"]))
    body = client.get(f"/v1/proofs/consistency?old=5&new={size}").json()
    verify_consistency(5, size, bytes.fromhex(body["old_root"]), bytes.fromhex(body["new_root"]), [bytes.fromhex(h) for h in body["proof"]])
    assert_problem(client.get(f"/v1/proofs/inclusion?seq={size}&size={size}"), 422, "proof-range")
    assert_problem(client.get(f"/v1/proofs/consistency?old=1&new={size + 1}"), 422, "proof-range")
    assert_problem(client.get("/v1/proofs/inclusion?seq=x&size=1"), 422, "validation")


def test_raw_entries_page_through_the_log_and_recompute_their_leaf_hashes(client, ledger, auth):
    auditor = auth("investigator")
    size = ledger.size()
    first = client.get("/v1/entries?start=0&end=5", headers=auditor).json()
    assert [e["seq"] for e in first["entries"]] == [0, 1, 2, 3, 4] and first["next"] == 5 and first["size"] == size
    everything = client.get("/v1/entries", headers=auditor).json()
    assert len(everything["entries"]) == size and everything["next"] is None
    prev = bytes(32)
    for e in everything["entries"]:
        leaf = entry_leaf_hash(e["seq"], bytes.fromhex(e["prev_hash"]), e["recorded_at"], e["event"].encode(), e["signer"], e["signature"],
                               e["imported"])
        assert leaf.hex() == e["leaf_hash"] and bytes.fromhex(e["prev_hash"]) == prev
        prev = leaf
    assert client.get("/v1/entries?start=3&end=5", headers=auditor).json()["entries"] == everything["entries"][3:5]  # prev hash of a page's first entry
    assert client.get(f"/v1/entries?start={size + 10}", headers=auditor).json()["entries"] == []


def test_item_page_is_escaped_html_for_phones(client, world):
    uid = world.firearm("it-beretta")
    world.act("it-beretta", "correct", target_seq=world.ledger.item(uid).marked_seq, reason="model typo",
              marking={"model": "<script>alert(1)</script>"})
    response = client.get(f"/i/{uid.lower()}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "<script>alert(1)</script>" not in response.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert 'name="viewport"' in response.text and "mark firearm" in response.text and "Fabbrica d&#39;Armi Pietro Beretta" in response.text
    missing = client.get("/i/01JD5Z8Q6Y3K7W2N4R9T0V1X2A")
    assert missing.status_code == 404 and "No item" in missing.text
