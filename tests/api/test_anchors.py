"""Receipts and GET /v1/checkpoint carry the newest on-chain anchor and a proof down to it."""

from __future__ import annotations

from ulid import ULID

from ledger.config import open_ledger
from ledger.log.merkle import verify_consistency

ANCHOR = {"tx": "0x" + "cd" * 32, "block": 99, "time": "2026-11-23T12:00:00.000Z", "chain_id": 11155111, "index": 0}


def test_receipts_prove_their_checkpoint_extends_the_anchored_one(client, ledger, world, auth) -> None:  # noqa: ANN001
    anchored = ledger.checkpoint()
    ledger.record_anchor(anchored.id, tx="0x" + "ab" * 32, block=1234, time="2026-11-23T12:00:00.000Z", chain_id=11155111, index=0)
    envelope = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    response = client.post("/v1/events", json=envelope, headers=auth("it-beretta"))
    assert response.status_code == 201, response.text
    checkpoint = response.json()["checkpoint"]
    anchor = checkpoint["anchored"]
    assert (anchor["size"], anchor["tx"], anchor["block"], anchor["chain_id"]) == (anchored.size, "0x" + "ab" * 32, 1234, 11155111)
    verify_consistency(anchor["size"], checkpoint["size"], bytes.fromhex(anchor["root"]), bytes.fromhex(checkpoint["root"]),
                       [bytes.fromhex(h) for h in anchor["consistency_proof"]])

    note = client.get("/v1/checkpoint")
    assert note.text.startswith(ledger.origin + "\n")
    assert f"size={anchored.size}; tx=0x{'ab' * 32}; block=1234" in note.headers["Tracemark-Anchor"]


def test_without_anchoring_nothing_is_claimed(client, world, auth) -> None:  # noqa: ANN001
    envelope = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    response = client.post("/v1/events", json=envelope, headers=auth("it-beretta"))
    assert response.json()["checkpoint"]["anchored"] is None
    assert "Tracemark-Anchor" not in client.get("/v1/checkpoint").headers


def _receipt_anchor(client, world, auth) -> dict | None:  # noqa: ANN001
    envelope = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    response = client.post("/v1/events", json=envelope, headers=auth("it-beretta"))
    assert response.status_code == 201, response.text
    return response.json()["checkpoint"]["anchored"]


def test_a_new_anchor_shows_up_in_the_next_receipt(client, ledger, world, auth) -> None:  # noqa: ANN001
    assert _receipt_anchor(client, world, auth) is None
    anchored = ledger.latest_checkpoint()
    ledger.record_anchor(anchored.id, **ANCHOR)
    anchor = _receipt_anchor(client, world, auth)
    assert anchor is not None and (anchor["size"], anchor["tx"]) == (anchored.size, ANCHOR["tx"])


def test_an_anchor_recorded_by_another_process_shows_up_in_the_next_receipt(client, ledger, settings, world, auth) -> None:  # noqa: ANN001
    assert _receipt_anchor(client, world, auth) is None
    worker = open_ledger(settings)  # the anchoring worker's own process and ledger
    try:
        anchored = worker.latest_checkpoint()
        worker.record_anchor(anchored.id, **ANCHOR)
    finally:
        worker.db.dispose()
    anchor = _receipt_anchor(client, world, auth)
    assert anchor is not None and (anchor["size"], anchor["block"]) == (anchored.size, ANCHOR["block"])
