"""GET /v1/items/{uid}/proof: a c2sp.org/tlog-proof@v1 of the newest entry the caller may read, which
verifies offline under a policy, with the read rights of the item's events."""

from __future__ import annotations

import json

import orjson

from ledger.log.checkpoint import parse_checkpoint
from ledger.log.cosignature import ED25519, CosignerKey, verify_cosignatures
from ledger.log.policy import Policy
from ledger.log.tlog_proof import HEADER, TlogProof, verify_tlog_proof
from ledger.witness.cosigners import add_witness, record_cosignatures
from tests.api.conftest import assert_problem
from tests.api.test_reads import sold_to_owner


def test_the_proof_is_of_the_newest_entry_the_caller_may_read(client, world, auth, settings, ledger):
    uid, _ = sold_to_owner(world)
    response = client.get(f"/v1/items/{uid}/proof", headers=auth("investigator"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-disposition"] == f'attachment; filename="{uid}.tlog-proof"'
    assert response.text.startswith(HEADER + "\nextra ")
    proof = TlogProof.parse(response.text)
    proven = verify_tlog_proof(proof, Policy.parse(f"log {settings.verifier_key()}\nquorum none\n"))
    assert proven.event["type"] == "transfer" and proven.event["actor"] == "de-jagd-schmidt" and proven.event["item"] == uid
    assert proven.seq == ledger.size() - 1

    maker = verify_tlog_proof(TlogProof.parse(client.get(f"/v1/items/{uid}/proof", headers=auth("it-beretta")).text),
                              Policy.parse(f"log {settings.verifier_key()}\nquorum none\n"))
    assert maker.event["type"] == "transfer" and maker.event["actor"] == "it-beretta"  # not the dealer's sale to the owner

    assert_problem(client.get(f"/v1/items/{uid}/proof"), 401, "unauthorized")
    assert_problem(client.get(f"/v1/items/{uid}/proof", headers=auth("be-police")), 403, "forbidden")
    assert_problem(client.get("/v1/items/01JD5Z8Q6Y3K7W2N4R9T0V1X2A/proof", headers=auth("investigator")), 404, "not-found/item")


def test_the_proof_carries_the_checkpoint_its_witnesses_cosigned(client, world, auth, settings, ledger):
    uid, _ = sold_to_owner(world)
    witness = CosignerKey.generate("w.example", ED25519)
    add_witness(ledger, "w", witness.vkey, "http://127.0.0.1:9/witness")
    cosigned = ledger.checkpoint()
    line = witness.cosign(parse_checkpoint(cosigned.note))
    record_cosignatures(ledger, "w", cosigned, verify_cosignatures(cosigned.note + line, [witness.verifier])[1])
    world.firearm("it-beretta")  # the log grows past the cosigned checkpoint: a newer one has no cosignature yet
    ledger.checkpoint()
    policy = Policy.parse(f"log {settings.verifier_key()}\nwitness W {witness.vkey}\nquorum W\n")
    proof = TlogProof.parse(client.get(f"/v1/items/{uid}/proof", headers=auth("investigator")).text)
    proven = verify_tlog_proof(proof, policy)
    assert proven.evaluation.checkpoint.size == cosigned.size and list(proven.evaluation.cosigned) == ["W"]
    assert orjson.loads(proof.extra)["seq"] == proof.index


def test_a_receipt_is_verified_offline_under_a_policy(client, world, auth, settings, tmp_path):
    from ulid import ULID

    from tests.witness.plumbing import tracemark

    envelope = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    receipt = client.post("/v1/events", json=envelope, headers=auth("it-beretta")).json()
    saved = tmp_path / "receipt.json"
    saved.write_text(json.dumps(receipt))
    log_only = tmp_path / "log-only.policy"
    log_only.write_text(f"log {settings.verifier_key()}\nquorum none\n")
    held = tracemark("verify-proof", str(saved), "--policy", str(log_only))
    assert held.returncode == 0, held.stderr
    assert held.stdout.startswith(f"VALID receipt of entry {receipt['seq']} in {settings.origin}")

    witness = CosignerKey.generate("w.example", ED25519)
    needs_witness = tmp_path / "witnessed.policy"
    needs_witness.write_text(f"log {settings.verifier_key()}\nwitness W {witness.vkey}\nquorum W\n")
    fresh = tracemark("verify-proof", str(saved), "--policy", str(needs_witness))
    assert fresh.returncode == 2 and "quorum W not met: witness W did not cosign" in fresh.stderr

    saved.write_text(json.dumps({**receipt, "leaf_hash": "00" * 32}))
    forged = tracemark("verify-proof", str(saved), "--policy", str(log_only))
    assert forged.returncode == 2 and f"entry {receipt['seq']} is not in the receipt's checkpoint" in forged.stderr
