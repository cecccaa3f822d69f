"""ledger.log.checkpoint: signed-note format against Go's known answers, tampering and fuzzing."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import CheckpointError
from ledger.log.checkpoint import (
    Checkpoint,
    LogKey,
    open_note,
    parse_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)
from ledger.log.merkle import leaf_hash

# golang.org/x/mod/sumdb/note documentation example (data only): Ed25519 is deterministic, so
# the same key and text must give this exact note.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# C2SP signed-note specification example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

ORIGIN = "tracemark.example/log/test"
KEY = LogKey.from_private_bytes("tracemark.example/log/test", bytes(range(32)))
CP = Checkpoint(ORIGIN, 1234, leaf_hash(b"root"))
NOTE = sign_checkpoint(CP, KEY)


def _replace_line(note: str, index: int, new: str) -> str:
    lines = note.split("\n")
    lines[index] = new
    return "\n".join(lines)


# --- format, known answers ----------------------------------------------------------------------


def test_go_known_answer() -> None:
    key = LogKey.from_signer_key(GO_SKEY)
    assert key.name == "PeterNeumann"
    assert key.key_hash.hex() == "c74f20a3"
    assert key.verifier_key == GO_VKEY
    assert key.signer_key == GO_SKEY
    assert key.sign_note(GO_TEXT) == GO_NOTE
    assert open_note(GO_NOTE, GO_VKEY) == GO_TEXT


def test_spec_known_answer() -> None:
    assert open_note(SPEC_NOTE, SPEC_VKEY) == "This is an example message.\n"


def test_body_and_note_layout() -> None:
    root_b64 = base64.b64encode(CP.root).decode()
    assert CP.body() == f"{ORIGIN}\n1234\n{root_b64}\n"
    assert Checkpoint(ORIGIN, 0, CP.root, ("ext one", "ext two")).body().endswith("\next one\next two\n")
    body, sigs = NOTE.split("\n\n")
    assert body + "\n" == CP.body()
    name, sig = sigs.removeprefix("\u2014 ").removesuffix("\n").split(" ")
    assert name == KEY.name
    raw = base64.b64decode(sig)
    assert raw[:4] == KEY.key_hash and len(raw) == 68


# --- round trips --------------------------------------------------------------------------------


def test_round_trip() -> None:
    assert verify_checkpoint(NOTE, KEY.verifier_key) == CP
    assert verify_checkpoint(NOTE, KEY.verifier_key, origin=ORIGIN) == CP
    assert parse_checkpoint(NOTE) == CP
    with_ext = Checkpoint(ORIGIN, 0, bytes(32), ("Timestamp: 1700000000",))
    assert verify_checkpoint(sign_checkpoint(with_ext, KEY), KEY.verifier_key) == with_ext


def test_key_string_round_trip() -> None:
    key = LogKey.generate("log.example")
    again = LogKey.from_signer_key(key.signer_key)
    assert again.to_private_bytes() == key.to_private_bytes()
    assert again.verifier_key == key.verifier_key
    assert LogKey.from_private_bytes(key.name, key.to_private_bytes()).verifier_key == key.verifier_key
    assert "PRIVATE" not in repr(key) and key.signer_key.split("+", 4)[4] not in repr(key)
    verify_checkpoint(sign_checkpoint(CP, again), key.verifier_key)


def test_co_signatures_are_ignored_but_ours_is_required() -> None:
    witness = LogKey.generate("witness.example")
    cosigned = NOTE + witness.sign_note(CP.body()).split("\n\n")[1]
    assert verify_checkpoint(cosigned, KEY.verifier_key) == CP
    assert verify_checkpoint(cosigned, witness.verifier_key) == CP
    only_witness = witness.sign_note(CP.body())
    with pytest.raises(CheckpointError, match="no signature by"):
        verify_checkpoint(only_witness, KEY.verifier_key)


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda n: _replace_line(n, 1, "1235"), "does not verify"),
        (lambda n: _replace_line(n, 2, base64.b64encode(bytes(32)).decode()), "does not verify"),
        (lambda n: _replace_line(n, 0, "other.example/log"), "does not verify"),
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n[:-1], "end with a newline"),
        (lambda n: n.replace("\u2014", "-"), "em dash"),
        (lambda n: n.replace(ORIGIN + "\n", ORIGIN + "\r\n", 1), "control character"),
        (lambda n: n[: n.index("\n\n")] + "\n\n", "signatures must end"),
    ],
)
def test_tampered_note_is_refused(tamper, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        verify_checkpoint(tamper(NOTE), KEY.verifier_key)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"{ORIGIN}\n01234\n{base64.b64encode(bytes(32)).decode()}\n", "leading zeros"),
        (f"{ORIGIN}\n-1\n{base64.b64encode(bytes(32)).decode()}\n", "decimal"),
        (f"{ORIGIN}\n+1\n{base64.b64encode(bytes(32)).decode()}\n", "decimal"),
        (f"{ORIGIN}\n1_000\n{base64.b64encode(bytes(32)).decode()}\n", "decimal"),
        (f"{ORIGIN}\n\uff11\n{base64.b64encode(bytes(32)).decode()}\n", "decimal"),
        (f"{ORIGIN}\n{2**64}\n{base64.b64encode(bytes(32)).decode()}\n", "2\\*\\*64"),
        (f"{ORIGIN}\n1\n{base64.b64encode(bytes(31)).decode()}\n", "want 32"),
        (f"{ORIGIN}\n1\n{base64.b64encode(bytes(33)).decode()}\n", "want 32"),
        (f"{ORIGIN}\n1\n{base64.b64encode(bytes(32)).decode().rstrip('=')}\n", "base64"),
        (f"{ORIGIN}\n1\n", "origin, size and root"),
        (f"\n1\n{base64.b64encode(bytes(32)).decode()}\n", "origin line is empty"),
    ],
)
def test_malformed_body_is_refused_even_when_signed(body: str, message: str) -> None:
    note = KEY.sign_note(body)
    with pytest.raises(CheckpointError, match=message):
        verify_checkpoint(note, KEY.verifier_key)
    with pytest.raises(CheckpointError, match=message):
        parse_checkpoint(note)


def test_every_signature_byte_matters() -> None:
    line = NOTE.split("\n\n")[1]
    prefix, sig_b64 = line.rsplit(" ", 1)
    raw = base64.b64decode(sig_b64)
    for i in range(4, len(raw)):
        for bit in (0, 7):
            bad = bytearray(raw)
            bad[i] ^= 1 << bit
            note = NOTE.replace(line, f"{prefix} {base64.b64encode(bytes(bad)).decode()}\n")
            with pytest.raises(CheckpointError):
                verify_checkpoint(note, KEY.verifier_key)


def test_wrong_origin_is_refused() -> None:
    with pytest.raises(CheckpointError, match="origin is"):
        verify_checkpoint(NOTE, KEY.verifier_key, origin="other.example/log")


def test_wrong_key_is_refused() -> None:
    other = LogKey.generate(KEY.name)
    with pytest.raises(CheckpointError, match="no signature by"):
        verify_checkpoint(NOTE, other.verifier_key)
    # A signature by another key, relabelled with our key's name and hash, must not verify.
    body, line = sign_checkpoint(CP, other).split("\n\n")
    other_signature = base64.b64decode(line.rsplit(" ", 1)[1])[4:]
    relabelled = body + "\n\n\u2014 " + KEY.name + " "
    relabelled += base64.b64encode(KEY.key_hash + other_signature).decode() + "\n"
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(relabelled, KEY.verifier_key)


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "nohash",
        "name+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # hash mismatch
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper-case hex
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # bad base64
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # algorithm 2
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_key_is_refused(vkey: str) -> None:
    with pytest.raises(CheckpointError):
        verify_checkpoint(GO_NOTE, vkey)


@pytest.mark.parametrize(
    "skey",
    [
        GO_SKEY.replace("c74f20a3", "c74f20a4"),
        GO_SKEY.replace("PRIVATE+KEY", "PUBLIC+KEY"),
        GO_SKEY[:-4],
        GO_VKEY,
    ],
)
def test_malformed_signer_key_is_refused(skey: str) -> None:
    with pytest.raises(CheckpointError):
        LogKey.from_signer_key(skey)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": "", "size": 1, "root": bytes(32)},
        {"origin": "a\nb", "size": 1, "root": bytes(32)},
        {"origin": "o", "size": -1, "root": bytes(32)},
        {"origin": "o", "size": 2**64, "root": bytes(32)},
        {"origin": "o", "size": True, "root": bytes(32)},
        {"origin": "o", "size": 1, "root": bytes(31)},
        {"origin": "o", "size": 1, "root": "00" * 32},
        {"origin": "o", "size": 1, "root": bytes(32), "extensions": ("",)},
        {"origin": "o", "size": 1, "root": bytes(32), "extensions": ["x"]},
    ],
)
def test_invalid_checkpoint_is_refused(kwargs: dict) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(**kwargs)


def test_non_canonical_base64_root_is_refused() -> None:
    root_line = NOTE.split("\n")[2]
    # 32 bytes -> 43 chars + '='; the last char carries 2 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = root_line[42]
    sibling = alphabet[alphabet.index(last) ^ 1]
    mutated = _replace_line(NOTE, 2, root_line[:42] + sibling + "=")
    assert base64.b64decode(mutated.split("\n")[2]) == CP.root
    with pytest.raises(CheckpointError, match="canonical"):
        parse_checkpoint(mutated)


# --- fuzzing ------------------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_fuzz_arbitrary_text(text: str) -> None:
    for call in (
        lambda: verify_checkpoint(text, KEY.verifier_key),
        lambda: parse_checkpoint(text),
        lambda: verify_checkpoint(NOTE, text),
    ):
        try:
            call()
        except CheckpointError:
            pass


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("\n \u2014+/=Aa0-\r\x00é"), max_size=200))
def test_fuzz_note_shaped_text(text: str) -> None:
    try:
        parse_checkpoint(text)
    except CheckpointError:
        pass
    with pytest.raises(CheckpointError):
        verify_checkpoint(text, KEY.verifier_key)


@settings(max_examples=1000, deadline=None)
@given(st.data())
def test_fuzz_single_byte_mutation(data: st.DataObject) -> None:
    raw = NOTE.encode("utf-8")
    i = data.draw(st.integers(0, len(raw) - 1), label="position")
    b = data.draw(st.integers(0, 255), label="byte")
    mutated_raw = raw[:i] + bytes([b]) + raw[i + 1 :]
    mutated = mutated_raw.decode("utf-8", errors="surrogateescape")
    try:
        got = verify_checkpoint(mutated, KEY.verifier_key, origin=ORIGIN)
    except CheckpointError:
        assert mutated_raw != raw
    else:
        assert mutated_raw == raw and got == CP


def test_every_single_byte_deletion_is_refused() -> None:
    raw = NOTE.encode("utf-8")
    for i in range(len(raw)):
        mutated = (raw[:i] + raw[i + 1 :]).decode("utf-8", errors="surrogateescape")
        with pytest.raises(CheckpointError):
            verify_checkpoint(mutated, KEY.verifier_key)


def test_wrong_types_raise_checkpoint_error() -> None:
    for note, vkey in [(None, KEY.verifier_key), (NOTE.encode(), KEY.verifier_key), (NOTE, None)]:
        with pytest.raises(CheckpointError):
            verify_checkpoint(note, vkey)  # type: ignore[arg-type]
    with pytest.raises(CheckpointError):
        LogKey.generate("has space")
    with pytest.raises(CheckpointError):
        LogKey.from_private_bytes("ok", b"short")
