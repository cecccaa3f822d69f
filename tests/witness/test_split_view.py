"""A split view caught end to end, all real `tracemark serve` processes on 127.0.0.1: a log on
PostgreSQL and two witnesses (one on SQLite, one on PostgreSQL) that cosigned its checkpoint. The
operator forks the history (rewrites an entry, recomputes the tree, re-signs the checkpoints):
both witnesses refuse the forked checkpoints, a verifier whose policy needs both cosignatures
refuses the log's proofs, and `tracemark verify --policy` names the witnesses that saw the other
history."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from api.keys import create_api_key
from ledger.config import Settings, init_log, open_ledger
from ledger.log.checkpoint import LogKey
from ledger.log.policy import Policy
from ledger.store.tables import CheckpointRow
from ledger.witness.cosigners import list_witnesses
from tests.chain.rewrite import rewrite_entry
from tests.support import World
from tests.witness.plumbing import Server, running, tracemark, wait_for
from tests.witness.test_witnessing import LOG, _row, _witness

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _add_checkpoint(witness: Server, old: int, proof: list[bytes], note: str) -> httpx.Response:
    body = f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n" + note
    return httpx.post(f"{witness.url}/witness/add-checkpoint", content=body.encode(), timeout=30)


def test_both_witnesses_and_a_quorum_of_two_catch_a_forked_history(
        tmp_path: Path, postgres_url: str, other_postgres_url: str) -> None:
    settings = Settings(db_url=postgres_url, home=tmp_path / "log", origin=LOG)
    world = World(init_log(settings))
    uid = world.firearm("it-beretta")
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    marked = world.ledger.item(uid).marked_seq
    log_vkey = settings.verifier_key()
    w1, w1_keys = _witness("w1", f"sqlite:///{tmp_path / 'w1.db'}", tmp_path, log_vkey)
    w2, w2_keys = _witness("w2", other_postgres_url, tmp_path, log_vkey)
    where = ("--db", settings.db_url, "--home", str(settings.home))
    for name, keys, server in (("w1", w1_keys, w1), ("w2", w2_keys, w2)):
        added = tracemark("witnesses", "add", name, keys, f"{server.url}/witness", *where, origin=LOG)
        assert added.returncode == 0, added.stderr
    policy = tmp_path / "both.policy"
    policy.write_text(f"log {log_vkey}\nwitness W1 {w1_keys.split()[0]}\nwitness W2 {w2_keys.split()[1]}\n"
                      "group both all W1 W2\nquorum both\n")  # W1 by its Ed25519 key, W2 by its ML-DSA-44 key
    trusted = Policy.parse(policy.read_bytes())
    investigator = {"Authorization": f"Bearer {create_api_key(world.ledger, 'investigator', 'test').token}"}
    log = Server(settings.db_url, settings.home, LOG, tmp_path / "log-server.log")

    def checkpoint() -> str:
        return httpx.get(f"{log.url}/v1/checkpoint", timeout=30).text

    def proof_file(name: str) -> Path:
        answer = httpx.get(f"{log.url}/v1/items/{uid}/proof", headers=investigator, timeout=30)
        assert answer.status_code == 200, answer.text
        path = tmp_path / f"{name}.tlog-proof"
        path.write_text(answer.text)
        return path

    with running(w1), running(w2):
        with running(log):
            size = world.ledger.size()
            wait_for(lambda: trusted.evaluate(checkpoint()).holds and trusted.evaluate(checkpoint()).checkpoint.size == size,
                     "both witnesses cosigning the log's checkpoint")
            published = trusted.evaluate(httpx.get(f"{log.url}/log/checkpoint", timeout=30).text)
            assert published.holds and published.checkpoint.size == size  # the tiles' checkpoint carries the cosignatures
            honest = tracemark("verify-proof", str(proof_file("honest")), "--policy", str(policy))
            assert honest.returncode == 0, honest.stderr
            assert f"VALID {uid}: receive by de-jagd-schmidt" in honest.stdout and "cosigned by W1, W2" in honest.stdout

        # The operator forks: entry `marked` is backdated, every later leaf, node and root recomputed, every checkpoint re-signed.
        log_key = LogKey.from_signer_key(settings.log_key_path.read_text().strip())
        rewrite_entry(settings.db_url, LOG, log_key, marked, world.parties["it-beretta"].account)
        world.ledger.db.dispose()
        world.ledger = open_ledger(settings)
        plain = tracemark("verify", *where, origin=LOG)
        assert plain.returncode == 0, plain.stderr  # the fork is consistent: the log alone cannot tell
        world.firearm("it-beretta")

        with running(log):
            forked = checkpoint()
            grown = world.ledger.size()
            evaluation = trusted.evaluate(forked)
            assert evaluation.checkpoint.size == grown and not evaluation.holds and evaluation.failed == ("both",)
            wait_for(lambda: all("422" in (row.last_error or "") for row in list_witnesses(world.ledger)),
                     "both witnesses refusing the log's forked checkpoint (422)")
            listed = tracemark("witnesses", "list", *where, origin=LOG).stdout
            assert all("422" in _row(listed, name) for name in ("w1", "w2"))
            with world.ledger.reading() as session:
                rewritten = session.exec(select(CheckpointRow).where(CheckpointRow.size == size)).first().note
            for witness in (w1, w2):
                extended = _add_checkpoint(witness, size, world.ledger.consistency_proof(size, grown), forked)
                assert extended.status_code == 422 and "consistency proof does not verify" in extended.text
                resigned = _add_checkpoint(witness, size, [], rewritten)
                assert resigned.status_code == 422 and "another root" in resigned.text
                restarted = _add_checkpoint(witness, 0, [], forked)
                assert restarted.status_code == 409 and restarted.text == f"{size}\n"
            refused = tracemark("verify-proof", str(proof_file("forked")), "--policy", str(policy))
            assert refused.returncode == 2
            assert "does not verify" in refused.stderr or "quorum both not met" in refused.stderr
            assert trusted.evaluate(checkpoint()).failed == ("both",)  # still no cosignature on the forked history

    caught = tracemark("verify", *where, "--policy", str(policy), origin=LOG)
    assert caught.returncode == 1
    for name, stored in (("W1", "w1"), ("W2", "w2")):
        assert f"SPLIT VIEW witness {name} (kept as {stored}) cosigned another tree of size {size}" in caught.stderr
    world.ledger.db.dispose()
