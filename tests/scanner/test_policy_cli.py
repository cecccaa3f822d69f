"""Verifiers with a policy, as a user runs them (the console script in fresh processes) on a demo log
whose two witnesses cosigned its checkpoint: policy check, proof, verify-proof, scan of a proof
file, an offline bundle refused short of the quorum, and verify naming who cosigned what."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.config import Settings, open_ledger
from ledger.log.checkpoint import parse_checkpoint
from ledger.log.cosignature import ED25519, ML_DSA_44, CosignerKey, verify_cosignatures
from ledger.log.tlog_proof import HEADER, TlogProof
from ledger.witness.cosigners import add_witness, record_cosignatures
from tests.witness.plumbing import tracemark as run

ORIGIN = "policy.example/log"


def tracemark(*args: str):  # noqa: ANN201
    """The console script in a fresh process, for this log."""
    return run(*args, origin=ORIGIN)


@dataclass
class Log:
    root: Path
    where: tuple[str, ...]
    stories: dict[str, str]
    vkey: str
    witnesses: list[CosignerKey]
    size: int

    def policy(self, name: str, quorum: str, witnesses: list[CosignerKey] | None = None, log: bool = True) -> Path:
        lines = [f"log {self.vkey}"] if log else []
        lines += [f"witness W{i + 1} {k.vkey}" for i, k in enumerate(self.witnesses if witnesses is None else witnesses)]
        path = self.root / f"{name}.policy"
        path.write_text("\n".join([*lines, quorum]) + "\n")
        return path


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    """A demo log whose checkpoint two witnesses (Ed25519 and ML-DSA-44) have cosigned."""
    root = tmp_path_factory.mktemp("policy")
    settings = Settings(db_url=f"sqlite:///{root / 'log.db'}", home=root / "home", origin=ORIGIN)
    where = ("--db", settings.db_url, "--home", str(settings.home))
    demo = tracemark("demo", "--items", "2", *where)
    assert demo.returncode == 0, demo.stderr
    stories = dict(re.findall(r"^\s+(\w+)\s+([0-9A-Z]{26})$", demo.stdout, flags=re.M))
    ledger = open_ledger(settings)
    witnesses = [CosignerKey.generate("w1.example", ED25519), CosignerKey.generate("w2.example", ML_DSA_44)]
    checkpoint = ledger.checkpoint()
    for n, key in enumerate(witnesses, 1):
        add_witness(ledger, f"w{n}", key.vkey, f"http://127.0.0.1:9/w{n}")
        line = key.cosign(parse_checkpoint(checkpoint.note))
        record_cosignatures(ledger, f"w{n}", checkpoint, verify_cosignatures(checkpoint.note + line, [key.verifier])[1])
    ledger.db.dispose()
    return Log(root, where, stories, settings.verifier_key(), witnesses, checkpoint.size)


def test_policy_check_prints_what_a_policy_requires_and_names_a_bad_line(log: Log) -> None:
    path = log.root / "two.policy"
    path.write_text(f"# both witnesses\nlog {log.vkey}\nwitness A {log.witnesses[0].vkey}\nwitness B {log.witnesses[1].vkey}\n"
                    "group both all A B\nquorum both\n")
    checked = tracemark("policy", "check", str(path))
    assert checked.returncode == 0, checked.stderr
    assert f"log {ORIGIN}" in checked.stdout and "group both: 2 of A, B" in checked.stdout and "quorum: both" in checked.stdout
    path.write_text(f"log {log.vkey}\ngroup both all A B\nquorum both\n")
    refused = tracemark("policy", "check", str(path))
    assert refused.returncode == 2
    assert "policy line 2: group both: 'A' is not a witness or group defined on an earlier line" in refused.stderr
    missing = tracemark("policy", "check", str(log.root / "nowhere.policy"))
    assert missing.returncode == 2 and "cannot read policy" in missing.stderr


def test_a_proof_verifies_offline_under_a_quorum_of_two(log: Log) -> None:
    uid = log.stories["valid_firearm"]
    out = log.root / f"{uid}.tlog-proof"
    made = tracemark("proof", uid, "--out", str(out), *log.where)
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    assert text.startswith(f"{HEADER}\nextra ")
    proof = TlogProof.parse(text)
    assert json.loads(proof.extra)["event"]["item"] == uid
    assert parse_checkpoint(proof.note).size == log.size and proof.note.count("\u2014 w") == 2

    both = log.policy("both", "group all2 all W1 W2\nquorum all2")
    valid = tracemark("verify-proof", str(out), "--policy", str(both))
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout.startswith(f"VALID {uid}: ") and "cosigned by W1, W2" in valid.stdout

    third = CosignerKey.generate("w3.example", ED25519)
    three = log.policy("three", "group two 2 W2 W3\nquorum two", [*log.witnesses, third])
    refused = tracemark("verify-proof", str(out), "--policy", str(three))
    assert refused.returncode == 2
    assert "quorum two not met: group two needs 2 of W2, W3, has 1 (missing W3)" in refused.stderr

    without = tracemark("verify-proof", str(out), "--home", log.where[3])  # no policy: the log's key alone, as before
    assert without.returncode == 0, without.stderr


def test_a_tampered_proof_is_refused_with_the_reason(log: Log) -> None:
    uid = log.stories["lost"]
    out = log.root / "lost.tlog-proof"
    assert tracemark("proof", uid, "--out", str(out), *log.where).returncode == 0
    proof = TlogProof.parse(out.read_text())
    policy = log.policy("w1", "quorum W1")
    forged = log.root / "forged.tlog-proof"
    assert b'"report_lost"' in proof.extra
    forged.write_text(TlogProof(proof.index, proof.proof, proof.note, proof.extra.replace(b'"report_lost"', b'"report_found"')).text())
    refused = tracemark("verify-proof", str(forged), "--policy", str(policy))
    assert refused.returncode == 2 and f"entry {proof.index} is not in the checkpoint of size {log.size}" in refused.stderr
    moved = log.root / "moved.tlog-proof"
    moved.write_text(TlogProof(proof.index + 1, proof.proof, proof.note, proof.extra).text())
    refused = tracemark("verify-proof", str(moved), "--policy", str(policy))
    assert refused.returncode == 2 and f"but the proof is for index {proof.index + 1}" in refused.stderr
    garbled = log.root / "garbled.tlog-proof"
    garbled.write_text(out.read_text().replace(HEADER, "c2sp.org/tlog-proof@v2"))
    refused = tracemark("verify-proof", str(garbled), "--policy", str(policy))
    assert refused.returncode == 2 and "the first line must be 'c2sp.org/tlog-proof@v1'" in refused.stderr


def test_scan_judges_a_proof_file_by_the_policy(log: Log) -> None:
    uid = log.stories["destroyed"]
    out = log.root / "destroyed.tlog-proof"
    assert tracemark("proof", uid, "--out", str(out), *log.where).returncode == 0
    valid = tracemark("scan", str(out), "--policy", str(log.policy("any", "group any1 any W1 W2\nquorum any1")))
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout.startswith(f"{out}  VALID  {uid}  ")
    stranger = CosignerKey.generate("w9.example", ED25519)
    refused = tracemark("scan", str(out), "--json", "--policy", str(log.policy("stranger", "quorum W1", [stranger])))
    assert refused.returncode == 1
    line = json.loads(refused.stdout)
    assert line["verdict"] == "PROOF_REFUSED" and "quorum W1 not met: witness W1 did not cosign" in line["detail"]


def test_an_offline_bundle_short_of_the_quorum_is_refused_naming_the_group(log: Log) -> None:
    bundle = log.root / "bundle.json"
    exported = tracemark("bundle", "export", "--out", str(bundle), *log.where)
    assert exported.returncode == 0, exported.stderr
    note = json.loads(bundle.read_text())["body"]["checkpoint"]
    assert len(verify_cosignatures(note, [k.verifier for k in log.witnesses])[1]) == 2  # the bundle carries the cosignatures
    photos = log.root / "photos"
    uid = log.stories["valid_firearm"]
    assert tracemark("labels", "--items", uid, "--out", str(log.root / "l.pdf"), "--png", str(photos), "--passphrase", "demo",
                     *log.where).returncode == 0
    photo = str(photos / f"{uid}.png")
    held = tracemark("scan", photo, "--offline", str(bundle), "--policy", str(log.policy("both2", "group b all W1 W2\nquorum b")))
    assert held.returncode == 0, held.stderr + held.stdout
    assert "  VALID  " in held.stdout
    third = CosignerKey.generate("w3.example", ED25519)
    short = log.policy("short", "group pair all W1 W3\nquorum pair", [log.witnesses[0], log.witnesses[1], third])
    refused = tracemark("scan", photo, "--offline", str(bundle), "--policy", str(short))
    assert refused.returncode == 2
    assert "fails the policy: quorum pair not met: group pair needs 2 of W1, W3, has 1 (missing W3)" in refused.stderr
    plain = tracemark("scan", photo, "--offline", str(bundle), "--home", log.where[3])
    assert plain.returncode == 0, plain.stderr  # without a policy, as before


def test_verify_reports_which_witnesses_cosigned_which_checkpoints(log: Log) -> None:
    policy = log.policy("report", "group b all W1 W2\nquorum b")
    verified = tracemark("verify", *log.where, "--policy", str(policy))
    assert verified.returncode == 0, verified.stderr
    assert f"checkpoint of size {log.size}: cosigned by W1, W2" in verified.stdout
    assert f"newest cosigned checkpoint (size {log.size}): meets the quorum" in verified.stdout
    assert "OK" in verified.stdout


def test_a_proof_of_an_unknown_item_says_so(log: Log) -> None:
    refused = tracemark("proof", "01JD5Z8Q6Y3K7W2N4R9T0V1X2A", "--out", str(log.root / "x.tlog-proof"), *log.where)
    assert refused.returncode == 2 and "item '01JD5Z8Q6Y3K7W2N4R9T0V1X2A' not found" in refused.stderr
    assert not (log.root / "x.tlog-proof").exists()


@pytest.mark.parametrize(("text", "says"), [
    ("c2sp.org/tlog-proof@v1\nindex 01\n\nx\n", "an 'index <n>' line (decimal, no leading zeros) must follow, got 'index 01'"),
    ("c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\nx\n", "the extra line is not base64"),
    ("c2sp.org/tlog-proof@v1\nextra YQ\nindex 0\n\nx\n", "the extra line is not base64"),
    ("c2sp.org/tlog-proof@v1\nindex 3\nYQ==\n\nx\n", "inclusion proof line 1 is 1 bytes"),
    ("c2sp.org/tlog-proof@v1\nindex 3\n", "needs an empty line"),
    ("\nc2sp.org/tlog-proof@v1\nindex 3\n\nx\n", "the first line must be"),
])
def test_malformed_proofs_are_named(text: str, says: str) -> None:
    from ledger.log.tlog_proof import TlogProofError

    with pytest.raises(TlogProofError, match=re.escape(says)):
        TlogProof.parse(text)


def test_a_proof_round_trips_its_text() -> None:
    hashes = (bytes(32), bytes([1]) * 32)
    proof = TlogProof(0, hashes, "o\n1\nAAAA\n\n\u2014 o AAAA\n", b"{}")
    assert proof.text() == (f"{HEADER}\nextra {base64.b64encode(b'{}').decode()}\nindex 0\n"
                            f"{base64.b64encode(hashes[0]).decode()}\n{base64.b64encode(hashes[1]).decode()}\n\n" + proof.note)
    assert TlogProof.parse(proof.text()) == proof
    assert TlogProof.parse(TlogProof(7, (), "n", None).text()) == TlogProof(7, (), "n", None)
