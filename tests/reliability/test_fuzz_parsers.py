"""Fuzzing the two parsers that read text from outside: the QR payload and the signed checkpoint.

Hypothesis mutates valid inputs (replace, insert, delete, duplicate runs) and also feeds arbitrary
text of bounded size. The property: each parser returns a value or raises its typed error
(MalformedCode, SignatureError, CheckpointError), never anything else, and within a deadline.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import CheckpointError, SignatureError
from ledger.log.checkpoint import Checkpoint, LogKey, parse_checkpoint, sign_checkpoint, verify_checkpoint
from ledger.log.keys import new_account
from scanner.payload import ALPHANUMERIC, FirearmFacts, MalformedCode, SpecimenFacts, encode_payload, parse_payload, recover_marker, sign_claim

FUZZ = settings(max_examples=400, deadline=timedelta(milliseconds=250), database=None,
                suppress_health_check=[HealthCheck.too_slow])
ACCOUNT = new_account()
ITEM = "01JD5Z8Q6Y3K7W2N4R9T0V1X2A"
FIREARM = FirearmFacts(maker_code="BER", serial="PX4/DE-001.A", country="IT", year=2024)
SPECIMEN = SpecimenFacts(species_code="CRONIL", serial="KE-CN-000001", country_of_origin="KE", year=2026,
                         permit="KE-2026-EX-0001", permit_country="KE")
CODES = [encode_payload("TRACEMARK.LOCAL", ITEM, facts, sign_claim(ACCOUNT, "TRACEMARK.LOCAL", ITEM, facts, version, log_id=log_id),
                        version, log_id=log_id)
         for facts in (FIREARM, SPECIMEN) for version, log_id in ((1, None), (2, None), (3, "0a1b2c3d"))]
KEY = LogKey.generate("fuzz.tracemark.local/log")
NOTE = sign_checkpoint(Checkpoint("fuzz.tracemark.local/log", 12345, bytes(range(32))), KEY)


def mutated(seeds: list[str], alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid input with up to 8 edits: replace, insert or delete a character, or repeat a slice."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        text = draw(st.sampled_from(seeds))
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(text)))
            edit = draw(st.sampled_from(["replace", "insert", "delete", "repeat"]))
            if edit == "replace" and text:
                at = min(at, len(text) - 1)
                text = text[:at] + draw(alphabet) + text[at + 1:]
            elif edit == "insert":
                text = text[:at] + draw(alphabet) + text[at:]
            elif edit == "delete":
                text = text[:at] + text[at + 1:]
            else:
                end = draw(st.integers(at, min(len(text), at + 40)))
                text = text[:at] + text[at:end] * draw(st.integers(2, 50)) + text[end:]
        return text

    return build()


QR_CHARS = st.sampled_from(sorted(ALPHANUMERIC) + ["a", "\u00e9", "\x00", "\n", "/", "*", "\U0001f600"])
NOTE_CHARS = st.sampled_from(list("\n \u2014+=/abcAZ019") + ["\x00", "\r", "\u00e9", "\ufffd"])


def _payload_ok(text: str) -> None:
    try:
        payload = parse_payload(text)
    except MalformedCode:
        return
    try:
        recover_marker(payload)
    except SignatureError:
        pass


@FUZZ
@given(mutated(CODES, QR_CHARS))
def test_a_mutated_qr_code_parses_or_is_malformed(text: str):
    _payload_ok(text)


@FUZZ
@given(st.text(max_size=4000))
def test_arbitrary_text_as_a_qr_code_parses_or_is_malformed(text: str):
    _payload_ok(text)


@FUZZ
@given(mutated([NOTE], NOTE_CHARS))
def test_a_mutated_checkpoint_parses_or_is_a_checkpoint_error(note: str):
    for read in (parse_checkpoint, lambda n: verify_checkpoint(n, KEY.verifier_key, KEY.name)):
        try:
            read(note)
        except CheckpointError:
            pass


@FUZZ
@given(st.text(max_size=4000), st.text(max_size=200))
def test_arbitrary_text_as_a_checkpoint_or_key_is_a_checkpoint_error(note: str, vkey: str):
    with pytest.raises(CheckpointError):
        verify_checkpoint(note, vkey)
    try:
        parse_checkpoint(note)
    except CheckpointError:
        pass


@pytest.mark.parametrize("size", [1_000_000])
def test_huge_inputs_are_refused_in_linear_time(size: int):
    """No parser backtracks: a megabyte of almost-valid text is refused in well under a second."""
    started = time.monotonic()
    for text in (CODES[0][:-10] + "A" * size, "HTTPS://" + "A" * size + "/I/" + ITEM, CODES[0].replace("*", "*" * size, 1)):
        with pytest.raises(MalformedCode):
            parse_payload(text)
    for note in (NOTE.replace("\n\n", "\n" + "x\n" * size + "\n"), NOTE + "\u2014 a b\n" * size, "a" * size):
        with pytest.raises(CheckpointError):
            verify_checkpoint(note, KEY.verifier_key)
    assert time.monotonic() - started < 3
