"""ledger.log.cosignature: the exact signed messages of C2SP tlog-cosignature, vkeys, and refusals."""

from __future__ import annotations

import base64
import hashlib
import stat
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PublicKey

from ledger.errors import CheckpointError, CosignatureError
from ledger.log.checkpoint import Checkpoint, LogKey, sign_checkpoint
from ledger.log.cosignature import (
    ED25519,
    ML_DSA_44,
    CosignerKey,
    CosignerVerifier,
    cosign,
    ed25519_message,
    load_or_create_keys,
    verify_cosignatures,
)

SPEC_ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
SPEC_CHECKPOINT = Checkpoint("example.com/behind-the-sofa", 20852163, SPEC_ROOT)
NAME = "witness.example/w1"


@pytest.fixture(scope="module")
def keys() -> dict[int, CosignerKey]:
    return {alg: CosignerKey.generate(NAME, alg) for alg in (ED25519, ML_DSA_44)}


def _blob(line: str) -> tuple[str, bytes]:
    """The name and decoded signature of one signature line."""
    assert line.startswith("\u2014 ") and line.endswith("\n")
    name, b64 = line[2:-1].split(" ")
    return name, base64.b64decode(b64)


def test_ed25519_message_is_the_spec_example() -> None:
    assert ed25519_message(SPEC_CHECKPOINT, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


@pytest.mark.parametrize("alg", [ED25519, ML_DSA_44])
def test_cosignature_line_is_key_id_timestamp_signature(keys: dict[int, CosignerKey], alg: int) -> None:
    key = keys[alg]
    public = key.verifier.public_key
    assert key.verifier.key_id == hashlib.sha256(NAME.encode() + b"\n" + bytes([alg]) + public).digest()[:4]
    name, blob = _blob(key.cosign(SPEC_CHECKPOINT, 1679315147))
    assert name == NAME
    assert blob[:4] == key.verifier.key_id
    assert struct.unpack(">Q", blob[4:12]) == (1679315147,)
    signature = blob[12:]
    if alg == ED25519:
        assert len(signature) == 64
        message = ed25519_message(SPEC_CHECKPOINT, 1679315147)
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    else:
        assert len(signature) == 2420
        # cosigned_message, built by hand from the spec's struct.
        name_bytes, origin = NAME.encode(), SPEC_CHECKPOINT.origin.encode()
        message = (
            b"subtree/v1\n\x00" + bytes([len(name_bytes)]) + name_bytes + (1679315147).to_bytes(8, "big")
            + bytes([len(origin)]) + origin + (0).to_bytes(8, "big") + (20852163).to_bytes(8, "big") + SPEC_ROOT
        )
        MLDSA44PublicKey.from_public_bytes(public).verify(signature, message)


def test_cosigned_note_verifies_and_reports_times(keys: dict[int, CosignerKey]) -> None:
    log = LogKey.generate("example.com/behind-the-sofa")
    note = sign_checkpoint(SPEC_CHECKPOINT, log) + cosign(SPEC_CHECKPOINT, keys.values(), 1700000000)
    checkpoint, found = verify_cosignatures(note, [k.verifier for k in keys.values()])
    assert checkpoint == SPEC_CHECKPOINT
    assert sorted(c.algorithm for c in found) == [ED25519, ML_DSA_44]
    assert {c.timestamp for c in found} == {1700000000}
    assert all(c.line in note for c in found)


def test_vkeys_round_trip_with_type_bytes(keys: dict[int, CosignerKey]) -> None:
    for alg, key in keys.items():
        vkey = key.vkey
        name, key_id, material = vkey.split("+", 2)
        assert name == NAME and key_id == key.verifier.key_id.hex()
        assert base64.b64decode(material)[0] == alg
        assert CosignerVerifier.from_vkey(vkey).vkey == vkey
        assert CosignerKey.from_signer_key(key.signer_key).vkey == vkey


def test_ed25519_commits_to_extension_lines_ml_dsa_does_not(keys: dict[int, CosignerKey]) -> None:
    signed = Checkpoint(SPEC_CHECKPOINT.origin, SPEC_CHECKPOINT.size, SPEC_ROOT, ("time 1",))
    altered = Checkpoint(SPEC_CHECKPOINT.origin, SPEC_CHECKPOINT.size, SPEC_ROOT, ("time 2",))
    for alg, key in keys.items():
        _, blob = _blob(key.cosign(signed, 5))
        if alg == ED25519:
            with pytest.raises(CosignatureError, match="does not verify"):
                key.verifier.verify(altered, blob[4:])
        else:
            assert key.verifier.verify(altered, blob[4:]) == 5


@pytest.mark.parametrize("alg", [ED25519, ML_DSA_44])
def test_timestamp_root_and_size_are_signed(keys: dict[int, CosignerKey], alg: int) -> None:
    key = keys[alg]
    _, blob = _blob(key.cosign(SPEC_CHECKPOINT, 1679315147))
    restamped = blob[4:12][:-1] + bytes([blob[11] ^ 1]) + blob[12:]
    with pytest.raises(CosignatureError, match="does not verify"):
        key.verifier.verify(SPEC_CHECKPOINT, restamped)
    for other in (
        Checkpoint(SPEC_CHECKPOINT.origin, SPEC_CHECKPOINT.size + 1, SPEC_ROOT),
        Checkpoint(SPEC_CHECKPOINT.origin, SPEC_CHECKPOINT.size, bytes(32)),
        Checkpoint("example.com/other", SPEC_CHECKPOINT.size, SPEC_ROOT),
    ):
        with pytest.raises(CosignatureError, match="does not verify"):
            key.verifier.verify(other, blob[4:])


def test_unknown_keys_are_ignored_known_keys_must_verify(keys: dict[int, CosignerKey]) -> None:
    stranger = CosignerKey.generate(NAME, ED25519)  # same name, another key ID
    log = LogKey.generate("example.com/behind-the-sofa")
    body = sign_checkpoint(SPEC_CHECKPOINT, log)
    _, found = verify_cosignatures(body + stranger.cosign(SPEC_CHECKPOINT), [k.verifier for k in keys.values()])
    assert found == []
    # A line with a known name and key ID whose signature is bad refuses the whole note.
    name, blob = _blob(keys[ED25519].cosign(SPEC_CHECKPOINT, 9))
    forged = f"\u2014 {name} {base64.b64encode(blob[:-1] + bytes([blob[-1] ^ 1])).decode()}\n"
    with pytest.raises(CosignatureError, match="does not verify"):
        verify_cosignatures(body + keys[ML_DSA_44].cosign(SPEC_CHECKPOINT) + forged, [k.verifier for k in keys.values()])
    truncated = f"\u2014 {name} {base64.b64encode(blob[:20]).decode()}\n"
    with pytest.raises(CosignatureError, match="bytes after its key ID"):
        verify_cosignatures(body + truncated, [keys[ED25519].verifier])


def test_timestamps_beyond_2_63_are_refused(keys: dict[int, CosignerKey]) -> None:
    with pytest.raises(CosignatureError, match="2\\*\\*63"):
        keys[ED25519].cosign(SPEC_CHECKPOINT, 2**63)
    _, blob = _blob(keys[ED25519].cosign(SPEC_CHECKPOINT, 1))
    with pytest.raises(CosignatureError, match="beyond 2\\*\\*63 - 1"):
        keys[ED25519].verifier.verify(SPEC_CHECKPOINT, (2**63).to_bytes(8, "big") + blob[12:])


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda v: v.split("+", 1)[0], "must be <name>"),
        (lambda v: v.split("+", 2)[0] + "+00000000+" + v.split("+", 2)[2], "key ID is 00000000"),
        (lambda v: v.split("+", 2)[0] + "+ABCDEF01+" + v.split("+", 2)[2], "8 lower-case hex"),
        (lambda v: v[:-1], "base64"), (lambda v: v[:-4], "32 bytes, got 29"),
    ],
)
def test_malformed_vkeys_say_what_is_wrong(keys: dict[int, CosignerKey], mutate, error: str) -> None:
    with pytest.raises(CosignatureError, match=error):
        CosignerVerifier.from_vkey(mutate(keys[ED25519].vkey))


def test_a_note_signing_key_is_not_a_cosigner_key() -> None:
    log_vkey = LogKey.generate("example.com/log").verifier_key  # type 0x01
    with pytest.raises(CosignatureError, match="0x01 is not a cosignature type"):
        CosignerVerifier.from_vkey(log_vkey)
    assert issubclass(CosignatureError, CheckpointError)


def test_ml_dsa_names_longer_than_255_bytes_are_refused() -> None:
    key = CosignerKey.generate("w" * 256, ML_DSA_44)
    with pytest.raises(CosignatureError, match="1 to 255 bytes"):
        key.cosign(SPEC_CHECKPOINT)


def test_keys_at_rest_are_private_and_stable(tmp_path) -> None:
    path = tmp_path / "home" / "witness.key"
    first = load_or_create_keys(path, NAME, [ED25519, ML_DSA_44])
    assert [k.verifier.algorithm for k in first] == [ED25519, ML_DSA_44]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_keys(path, NAME, [ED25519, ML_DSA_44])
    assert [k.vkey for k in again] == [k.vkey for k in first]
    path.write_text("PRIVATE+KEY+bad\n")
    with pytest.raises(CosignatureError, match="PRIVATE\\+KEY"):
        load_or_create_keys(path, NAME, [ED25519])


def test_the_log_stamps_each_checkpoint_with_its_own_cosignature(sqlite_ledger) -> None:  # noqa: ANN001
    from ledger.log.checkpoint import verify_checkpoint
    from ledger.witness.cosigners import cosigned_note

    row = sqlite_ledger.checkpoint()
    own = sqlite_ledger.log_cosigner
    assert own is not None and own.verifier.algorithm == ED25519 and own.name == sqlite_ledger.origin
    note = cosigned_note(sqlite_ledger, row)
    checkpoint = verify_checkpoint(note, sqlite_ledger.log_key.verifier_key)  # note verifiers are unaffected
    _, [stamp] = verify_cosignatures(note, [own.verifier])
    assert stamp.time == checkpoint.signed_time
    assert cosigned_note(sqlite_ledger, row) == note  # the same line each time it is served
    assert own.verifier.key_id != sqlite_ledger.log_key.key_hash  # another key, another type byte
