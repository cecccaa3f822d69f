"""Receipts and GET /v1/checkpoint carry the newest on-chain anchor and a proof down to it."""

from __future__ import annotations

from ulid import ULID

from ledger.merkle import verify_consistency


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
