"""POST /witness/add-checkpoint on a real `tracemark serve`, as C2SP tlog-witness fixes each answer."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger import merkle
from ledger.checkpoint import LogKey, sign_checkpoint, verify_checkpoint
from ledger.config import Settings, init_log
from ledger.cosignature import ED25519, ML_DSA_44, CosignerKey, CosignerVerifier, verify_cosignatures
from ledger.witness import Witness, origin_hash
from tests.witness.plumbing import OtherLog, Server, running, tracemark

ORIGIN = "witness-one.example/log"


@pytest.fixture(scope="module")
def witness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Witness]]:
    folder = tmp_path_factory.mktemp("witness")
    settings = Settings(db_url=f"sqlite:///{folder / 'witness.db'}", home=folder / "home", origin=ORIGIN)
    ledger = init_log(settings)
    with running(Server(settings.db_url, settings.home, ORIGIN, folder / "server.log")) as server:
        yield server, Witness(ledger.db, [])
    ledger.db.dispose()


@pytest.fixture(scope="module")
def vkeys(witness: tuple[Server, Witness]) -> list[CosignerVerifier]:
    printed = tracemark("witness", "key", "--home", str(witness[0].home))
    assert printed.returncode == 0, printed.stderr
    return [CosignerVerifier.from_vkey(line) for line in printed.stdout.splitlines()]


def witnessed(witness: tuple[Server, Witness], name: str) -> OtherLog:
    log = OtherLog(f"{name}.example/log")
    witness[1].add_log(log.origin, log.key.verifier_key)
    return log


def post(witness: tuple[Server, Witness], body: bytes) -> httpx.Response:
    return httpx.post(f"{witness[0].url}/witness/add-checkpoint", content=body, timeout=30)


def test_a_new_log_is_cosigned_from_old_size_zero_by_both_keys(witness, vkeys: list[CosignerVerifier]) -> None:
    log = witnessed(witness, "fresh")
    before = int(time.time())
    answer = post(witness, log.body(0, 5))
    after = int(time.time())
    assert answer.status_code == 200, answer.text
    assert answer.text.endswith("\n")
    assert all(line.startswith("\u2014 ") for line in answer.text.splitlines())
    checkpoint, found = verify_cosignatures(log.note(5) + answer.text, vkeys)
    assert checkpoint == log.checkpoint(5)
    assert sorted(c.algorithm for c in found) == [ED25519, ML_DSA_44]
    assert all(before <= c.timestamp <= after for c in found)  # the time of cosigning, never zero


def test_a_consistent_checkpoint_extends_the_cosigned_one(witness, vkeys: list[CosignerVerifier]) -> None:
    log = witnessed(witness, "growing")
    assert post(witness, log.body(0, 5)).status_code == 200
    answer = post(witness, log.body(5, 21))
    assert answer.status_code == 200, answer.text
    assert len(verify_cosignatures(log.note(21) + answer.text, vkeys)[1]) == 2
    # The monitoring read: the latest checkpoint with the log's signature and the witness's cosignatures.
    latest = httpx.get(f"{witness[0].url}/witness/{origin_hash(log.origin)}/checkpoint", timeout=30)
    assert latest.status_code == 200
    assert verify_checkpoint(latest.text, log.key.verifier_key).size == 21
    assert len(verify_cosignatures(latest.text, vkeys)[1]) == 2


def test_an_unknown_origin_is_404(witness) -> None:
    stranger = OtherLog("stranger.example/log")
    assert post(witness, stranger.body(0, 3)).status_code == 404
    assert httpx.get(f"{witness[0].url}/witness/{origin_hash(stranger.origin)}/checkpoint", timeout=30).status_code == 404


def test_a_log_never_cosigned_has_no_monitoring_checkpoint(witness) -> None:
    log = witnessed(witness, "quiet")
    assert httpx.get(f"{witness[0].url}/witness/{origin_hash(log.origin)}/checkpoint", timeout=30).status_code == 404


def test_a_checkpoint_without_a_valid_signature_by_the_trusted_key_is_403(witness) -> None:
    log = witnessed(witness, "signed")
    impostor = LogKey.generate(log.origin)  # same name, another key ID: its line is ignored, so none is trusted
    assert post(witness, log.body(0, 4, note=sign_checkpoint(log.checkpoint(4), impostor))).status_code == 403
    note = log.note(4)
    body, _, signature = note.rpartition(" ")
    raw = bytearray(base64.b64decode(signature))
    raw[-1] ^= 1  # the trusted key's name and ID, a signature that fails
    forged = f"{body} {base64.b64encode(bytes(raw)).decode()}\n"
    assert post(witness, log.body(0, 4, note=forged)).status_code == 403
    # A good signature beside an unknown one is accepted: unknown keys are ignored.
    both = note + sign_checkpoint(log.checkpoint(4), impostor).split("\n\n")[1]
    assert post(witness, log.body(0, 4, note=both)).status_code == 200


def test_a_log_that_signs_with_an_ml_dsa_44_cosignature_is_witnessed(witness, vkeys: list[CosignerVerifier]) -> None:
    log = OtherLog("pq.example/log")
    key = CosignerKey.generate(log.origin, ML_DSA_44)
    witness[1].add_log(log.origin, key.vkey)
    signed = log.checkpoint(9).body() + "\n" + key.cosign(log.checkpoint(9))
    answer = post(witness, log.body(0, 9, note=signed))
    assert answer.status_code == 200, answer.text
    assert len(verify_cosignatures(signed + answer.text, vkeys)[1]) == 2
    other = CosignerKey.generate(log.origin, ML_DSA_44)
    unsigned = log.checkpoint(12).body() + "\n" + other.cosign(log.checkpoint(12))
    assert post(witness, log.body(9, 12, note=unsigned)).status_code == 403


def test_an_old_size_beyond_the_checkpoint_is_400(witness) -> None:
    log = witnessed(witness, "shrinking")
    assert post(witness, log.body(0, 8)).status_code == 200
    answer = post(witness, log.body(8, 6, proof=[]))
    assert answer.status_code == 400
    assert "beyond" in answer.text


@pytest.mark.parametrize(
    "mangle",
    [
        lambda body: body.replace(b"\n\n", b"\n", 1),  # no empty line before the checkpoint
        lambda body: body.replace(b"old 3\n", b"old 03\n", 1),  # leading zero
        lambda body: body.replace(b"old 3\n", b"old 3\n" + b"AAAA\n", 1),  # not a hash
        lambda body: body.replace(b"old 3\n", b"old 3\n" + (base64.b64encode(bytes(32)) + b"\n") * 64, 1),  # 64 lines
        lambda body: body.replace(b"old 3\n", b"old 3 \n", 1),
        lambda body: body[: body.index(b"\n\n") + 2] + b"not a checkpoint\n",
    ],
)
def test_malformed_requests_are_400(witness, mangle) -> None:  # noqa: ANN001
    log = witnessed(witness, f"malformed{abs(hash(mangle.__code__.co_firstlineno))}")
    assert post(witness, log.body(0, 3)).status_code == 200
    answer = post(witness, mangle(log.body(3, 7)))
    assert answer.status_code == 400, answer.text


def test_an_old_size_other_than_the_cosigned_one_is_409_with_that_size(witness) -> None:
    log = witnessed(witness, "stale")
    assert post(witness, log.body(0, 5)).status_code == 200
    for old in (0, 3, 6):
        answer = post(witness, log.body(old, 9))
        assert answer.status_code == 409
        assert answer.headers["content-type"] == "text/x.tlog.size"
        assert answer.text == "5\n"


def test_a_size_zero_checkpoint_must_have_the_empty_root(witness) -> None:
    log = witnessed(witness, "empty")
    assert post(witness, log.body(0, 0, note=log.note(0, root=bytes(32)))).status_code == 422
    assert post(witness, log.body(0, 0)).status_code == 200


def test_a_proof_from_old_size_zero_must_be_empty(witness) -> None:
    log = witnessed(witness, "zero-proof")
    assert post(witness, log.body(0, 6, proof=[bytes(32)])).status_code == 422
    assert post(witness, log.body(0, 6)).status_code == 200


def test_a_proof_that_does_not_verify_is_422_and_changes_nothing(witness) -> None:
    log = witnessed(witness, "forked")
    assert post(witness, log.body(0, 6)).status_code == 200
    proof = log.proof(6, 13)
    proof[0] = bytes(32)
    assert post(witness, log.body(6, 13, proof=proof)).status_code == 422
    assert post(witness, log.body(6, 13, proof=log.proof(6, 12))).status_code == 422  # a proof to another size
    assert post(witness, log.body(6, 13)).status_code == 200  # the state is still size 6


def test_the_same_size_needs_the_same_root(witness) -> None:
    log = witnessed(witness, "same")
    assert post(witness, log.body(0, 7)).status_code == 200
    other_root = merkle.root_from_leaves([merkle.leaf_hash(b"x")] * 7)
    assert post(witness, log.body(7, 7, note=log.note(7, root=other_root))).status_code == 422
    assert post(witness, log.body(7, 7)).status_code == 200


def test_add_checkpoint_takes_post_only(witness) -> None:
    assert httpx.get(f"{witness[0].url}/witness/add-checkpoint", timeout=30).status_code == 405


def test_the_cli_configures_the_witnessed_logs(witness, tmp_path: Path) -> None:
    server, _ = witness
    log = OtherLog("cli.example/log")
    where = ("--db", server.db_url, "--home", str(server.home))
    added = tracemark("witness", "logs", "add", log.origin, log.key.verifier_key, *where)
    assert added.returncode == 0, added.stderr
    assert post(witness, log.body(0, 2)).status_code == 200
    listed = tracemark("witness", "logs", "list", *where)
    row = next(line for line in listed.stdout.splitlines() if log.origin in line)
    assert row.split("\u2502")[2].strip() == "2"  # the cosigned size column
    again = tracemark("witness", "logs", "add", log.origin, log.key.verifier_key, *where)
    assert again.returncode == 2 and "already witnessed" in again.stderr
    bad = tracemark("witness", "logs", "add", "bad.example/log", "not-a-key", *where)
    assert bad.returncode == 2 and "verifier key must be" in bad.stderr
    assert "bad.example/log" not in tracemark("witness", "logs", "list", *where).stdout
    removed = tracemark("witness", "logs", "remove", log.origin, *where)
    assert removed.returncode == 0, removed.stderr
    assert post(witness, log.body(2, 3)).status_code == 404
    missing = tracemark("witness", "logs", "remove", log.origin, *where)
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_witness_key_prints_an_ed25519_and_an_ml_dsa_44_vkey(witness) -> None:
    printed = tracemark("witness", "key", "--home", str(witness[0].home))
    lines = printed.stdout.splitlines()
    assert [base64.b64decode(line.split("+", 2)[2])[0] for line in lines] == [0x04, 0x06]
    assert tracemark("witness", "key", "--home", str(witness[0].home)).stdout == printed.stdout  # kept, not remade
