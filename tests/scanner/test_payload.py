import base64
import json
from dataclasses import replace

import pytest
import qrcode
from hypothesis import given
from hypothesis import strategies as st
from qrcode.constants import ERROR_CORRECT_M

from ledger.errors import SignatureError
from ledger.log.keys import new_account
from ledger.store.tables import Item
from scanner.payload import (
    ALPHANUMERIC,
    FirearmFacts,
    MalformedCode,
    SpecimenFacts,
    claim_bytes,
    encode_payload,
    parse_payload,
    recover_marker,
    sign_claim,
)

ITEM = "01JD0000000000000000000000"
ACCOUNT = new_account()
FIREARM = FirearmFacts(maker_code="BER", serial="PX4/DE-001.A", country="IT", year=2024)
LOG = "0a1b2c3d"


def _issue(host: str, facts, version: int = 3, item: str = ITEM, log_id: str | None = LOG) -> str:
    """A code of `version` signed by ACCOUNT (from version 3 issued by the log with key ID `log_id`)."""
    log_id = log_id if version == 3 else None
    return encode_payload(host, item, facts, sign_claim(ACCOUNT, host, item, facts, version, log_id=log_id), version, log_id=log_id)


def _qr_version(text: str) -> int:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
    code.add_data(text)
    return code.best_fit()


def test_every_demo_code_fits_version_10_at_m_in_alphanumeric_mode(demo):
    assert len(demo.markings) == demo.ledger.count(Item) == 16  # 6 firearm stories, 6 skins, 4 bulk firearms
    for row in demo.markings.values():
        assert set(row.payload) <= ALPHANUMERIC
        assert _qr_version(row.payload) <= 10, row.payload


def test_the_longest_possible_code_still_fits_version_10():
    """The docstring's bound: every fact at its longest with its log's key ID, and 20 slashes among serial and permit."""
    facts = SpecimenFacts(species_code="ABCDEFGH", serial="X" * 40, country_of_origin="KE", year=2026,
                          permit="P" * 40, permit_country="KE")
    text = _issue("TRACEMARK.LOCAL", facts)
    assert len(text) == 271 and _qr_version(text) <= 10
    slashed = SpecimenFacts(species_code="ABCDEFGH", serial="X/" * 10 + "X" * 20, country_of_origin="KE", year=2026,
                            permit="P/" * 10 + "P" * 20, permit_country="KE")
    longest = encode_payload("TRACEMARK.LOCAL", ITEM, slashed, bytes(65), log_id=LOG)
    assert len(longest) == 311 and _qr_version(longest) <= 10
    with pytest.raises(MalformedCode, match="QR code of version 10"):
        encode_payload("TRACEMARK.LOCAL", ITEM, replace(slashed, serial="X/" * 11 + "X" * 18), bytes(65), log_id=LOG)
    firearm = FirearmFacts(maker_code="ABCDEFGH", serial="X" + "/" * 39, country="IT", year=2024)
    assert _qr_version(encode_payload("TRACEMARK.LOCAL", ITEM, firearm, bytes(65), log_id=LOG)) <= 10


def test_demo_code_recovers_to_the_marking_party(demo):
    uid = demo.result.items["valid_firearm"]
    payload = parse_payload(demo.code("valid_firearm"))
    assert payload.item == uid and payload.version == 3
    assert payload.log_id == demo.ledger.log_key.key_hash.hex() == demo.settings.verifier_key().split("+")[1]
    assert payload.facts == FirearmFacts(maker_code="BER", serial="PX4-DE-002", country="IT", year=2024)
    assert recover_marker(payload) == demo.result.parties["it-beretta"].account.address
    skin = parse_payload(demo.code("specimen_seized")).facts
    assert isinstance(skin, SpecimenFacts) and skin.permit == "KE-2026-EX-0042" and skin.permit_country == "KE"


def test_parsing_ignores_letter_case_and_slashes_in_serials_round_trip():
    text = _issue("scan.example.org:8443", FIREARM)
    assert text.startswith("HTTPS://SCAN.EXAMPLE.ORG:8443/I/")
    payload = parse_payload(text.lower())
    assert payload.facts == FIREARM and payload.text == text
    assert recover_marker(payload) == ACCOUNT.address


def test_a_changed_fact_recovers_to_another_key():
    text = _issue("H.ORG", FIREARM)
    forged = parse_payload(text.replace("*2024*", "*2023*"))
    assert forged.facts.year == 2023
    try:
        assert recover_marker(forged) != ACCOUNT.address
    except SignatureError:
        pass


def _valid() -> str:
    return _issue("H.ORG", FIREARM)


@pytest.mark.parametrize(
    "mangle, reason",
    [
        (lambda t: "hello world", "starts with HTTPS://"),
        (lambda t: t.replace("HTTPS://", "HTTP://"), "starts with HTTPS://"),
        (lambda t: t + "?", "alphanumeric"),
        (lambda t: t.replace("PX4", "PX\u0130"), "alphanumeric"),
        (lambda t: t.replace("/I/", "/X/"), "/I/"),
        (lambda t: t.replace(ITEM, ITEM[:-1]), "ULID"),
        (lambda t: t.replace("F3*", "Q3*"), "F (firearm) or S"),
        (lambda t: t.replace("F3*", "F4*"), "format version (2, 3)"),
        (lambda t: t.replace("*IT*", "*ITA*"), "country"),
        (lambda t: t.replace("*IT*", "*IT**"), "got 5 fields"),
        (lambda t: t.replace("*0A1B2C3D/", "/"), "log key ID"),
        (lambda t: t.replace("*0A1B2C3D/", "*0A1B2C3/"), "log key ID"),
        (lambda t: t.replace("*0A1B2C3D/", "*0A1B2C3G/"), "log key ID"),
        (lambda t: t[:-1], "base32"),
        (lambda t: t[:-1] + "1", "base32"),
        (lambda t: t.rsplit("/", 1)[0], "signature"),
    ],
)
def test_anything_else_is_malformed_with_a_reason(mangle, reason):
    with pytest.raises(MalformedCode) as caught:
        parse_payload(mangle(_valid()))
    assert reason in caught.value.reason


@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_is_malformed(text):
    try:
        payload = parse_payload(text)
    except MalformedCode as exc:
        assert exc.reason
    else:
        assert payload.text == text.strip().upper()


serials = st.from_regex(r"\A[A-Z0-9][A-Z0-9./-]{0,39}\Z")


@given(serial=serials, year=st.integers(1800, 2200), signature=st.binary(min_size=65, max_size=65), version=st.sampled_from([1, 2, 3]),
       log=st.from_regex(r"\A[0-9a-f]{8}\Z"))
def test_encode_then_parse_is_identity(serial, year, signature, version, log):
    facts = FirearmFacts(maker_code="GLK", serial=serial, country="AT", year=year)
    log_id = log if version == 3 else None
    text = encode_payload("TRACEMARK.LOCAL", ITEM, facts, signature, version, log_id=log_id)
    payload = parse_payload(text)
    assert (payload.facts, payload.signature, payload.version, payload.log_id) == (facts, signature, version, log_id)
    assert base64.b32decode(text.rsplit("/", 1)[1]) == signature


@pytest.mark.parametrize("version, tamper", [(2, ("TRACEMARK.LOCAL", "TRACEMARK.EVIL")), (3, ("TRACEMARK.LOCAL", "TRACEMARK.EVIL")),
                                             (3, ("*0A1B2C3D/", "*0A1B2C3E/"))])
def test_the_host_and_the_issuing_log_are_signed_with_the_facts(version, tamper):
    text = _issue("TRACEMARK.LOCAL", FIREARM, version)
    assert recover_marker(parse_payload(text)) == ACCOUNT.address
    forged = text.replace(*tamper)
    assert forged != text
    try:
        assert recover_marker(parse_payload(forged)) != ACCOUNT.address
    except SignatureError:
        pass


def test_a_version_3_code_names_its_log_as_the_last_fact_and_in_its_claim():
    text = _issue("H.ORG", FIREARM, log_id="0A1B2C3D")
    assert text.split("/")[5] == "F3*BER*PX4%2FDE-001.A*IT*2024*0A1B2C3D"
    payload = parse_payload(text.lower())
    assert payload.version == 3 and payload.log_id == LOG and payload.text == text
    claim = json.loads(claim_bytes("H.ORG", ITEM, FIREARM, log_id=LOG))
    assert claim["log"] == LOG and claim["version"] == 3 and claim["host"] == "H.ORG"
    with pytest.raises(MalformedCode, match="names the key ID of the log"):
        encode_payload("H.ORG", ITEM, FIREARM, bytes(65))
    with pytest.raises(MalformedCode, match="names no log"):
        encode_payload("H.ORG", ITEM, FIREARM, bytes(65), 2, log_id=LOG)


def test_codes_of_every_format_name_the_same_item_and_facts():
    """Codes issued before the log was named still parse: version 1 and 2 say no log."""
    codes = {version: parse_payload(_issue("TRACEMARK.LOCAL", FIREARM, version)) for version in (1, 2, 3)}
    assert {(p.item, p.facts, p.host) for p in codes.values()} == {(ITEM, FIREARM, "TRACEMARK.LOCAL")}
    assert [codes[v].log_id for v in (1, 2, 3)] == [None, None, LOG]
    assert all(recover_marker(p) == ACCOUNT.address for p in codes.values())


def test_a_first_format_code_signed_the_facts_only_and_keeps_its_slashes():
    """Codes issued before the host was signed still parse and verify; scanners compare their host instead."""
    text = _issue("TRACEMARK.LOCAL", FIREARM, 1)
    assert f"/I/{ITEM}/F*BER*PX4/DE-001.A*IT*2024/" in text
    payload = parse_payload(text)
    assert payload.version == 1 and payload.facts == FIREARM and payload.text == text
    assert recover_marker(parse_payload(text.replace("TRACEMARK.LOCAL", "ELSEWHERE.ORG"))) == ACCOUNT.address


def test_a_slash_in_a_fact_is_written_percent_2f_so_the_path_has_the_grammars_segments_only():
    facts = FirearmFacts(maker_code="BER", serial="A/../B/./C", country="IT", year=2024)
    text = _issue("H.ORG", facts, 2)
    assert text.split("/")[3:6] == ["I", ITEM, "F2*BER*A%2F..%2FB%2F.%2FC*IT*2024"]
    assert parse_payload(text.lower()).facts == facts
    with pytest.raises(MalformedCode, match="%2F"):
        parse_payload(text.replace("%2F", "/"))
    with pytest.raises(MalformedCode, match="format version"):
        parse_payload(text.replace("/F2*", "/F5*"))
    with pytest.raises(MalformedCode, match="log key ID"):
        parse_payload(text.replace("/F2*", "/F3*"))  # a version 3 code ends with its log's key ID
