import base64
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
    encode_payload,
    parse_payload,
    recover_marker,
    sign_claim,
)

ITEM = "01JD0000000000000000000000"
ACCOUNT = new_account()
FIREARM = FirearmFacts(maker_code="BER", serial="PX4/DE-001.A", country="IT", year=2024)


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
    facts = SpecimenFacts(species_code="ABCDEFGH", serial="X" * 40, country_of_origin="KE", year=2026,
                          permit="P" * 40, permit_country="KE")
    text = encode_payload("TRACEMARK.LOCAL", ITEM, facts, sign_claim(ACCOUNT, "TRACEMARK.LOCAL", ITEM, facts))
    assert _qr_version(text) <= 10
    slashed = SpecimenFacts(species_code="ABCDEFGH", serial="X/" * 12 + "X" * 16, country_of_origin="KE", year=2026,
                            permit="P/" * 12 + "P" * 16, permit_country="KE")
    assert _qr_version(encode_payload("TRACEMARK.LOCAL", ITEM, slashed, bytes(65))) <= 10
    with pytest.raises(MalformedCode, match="QR code of version 10"):
        encode_payload("TRACEMARK.LOCAL", ITEM, replace(slashed, serial="X/" * 13 + "X" * 14), bytes(65))


def test_demo_code_recovers_to_the_marking_party(demo):
    uid = demo.result.items["valid_firearm"]
    payload = parse_payload(demo.code("valid_firearm"))
    assert payload.item == uid
    assert payload.facts == FirearmFacts(maker_code="BER", serial="PX4-DE-002", country="IT", year=2024)
    assert recover_marker(payload) == demo.result.parties["it-beretta"].account.address
    skin = parse_payload(demo.code("specimen_seized")).facts
    assert isinstance(skin, SpecimenFacts) and skin.permit == "KE-2026-EX-0042" and skin.permit_country == "KE"


def test_parsing_ignores_letter_case_and_slashes_in_serials_round_trip():
    text = encode_payload("scan.example.org:8443", ITEM, FIREARM, sign_claim(ACCOUNT, "scan.example.org:8443", ITEM, FIREARM))
    assert text.startswith("HTTPS://SCAN.EXAMPLE.ORG:8443/I/")
    payload = parse_payload(text.lower())
    assert payload.facts == FIREARM and payload.text == text
    assert recover_marker(payload) == ACCOUNT.address


def test_a_changed_fact_recovers_to_another_key():
    text = encode_payload("H.ORG", ITEM, FIREARM, sign_claim(ACCOUNT, "H.ORG", ITEM, FIREARM))
    forged = parse_payload(text.replace("*2024/", "*2023/"))
    assert forged.facts.year == 2023
    try:
        assert recover_marker(forged) != ACCOUNT.address
    except SignatureError:
        pass


def _valid() -> str:
    return encode_payload("H.ORG", ITEM, FIREARM, sign_claim(ACCOUNT, "H.ORG", ITEM, FIREARM))


@pytest.mark.parametrize(
    "mangle, reason",
    [
        (lambda t: "hello world", "starts with HTTPS://"),
        (lambda t: t.replace("HTTPS://", "HTTP://"), "starts with HTTPS://"),
        (lambda t: t + "?", "alphanumeric"),
        (lambda t: t.replace("PX4", "PX\u0130"), "alphanumeric"),
        (lambda t: t.replace("/I/", "/X/"), "/I/"),
        (lambda t: t.replace(ITEM, ITEM[:-1]), "ULID"),
        (lambda t: t.replace("F2*", "Q2*"), "F (firearm) or S"),
        (lambda t: t.replace("*IT*", "*ITA*"), "country"),
        (lambda t: t.replace("*IT*", "*IT**"), "got 5 fields"),
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


@given(serial=serials, year=st.integers(1800, 2200), signature=st.binary(min_size=65, max_size=65), version=st.sampled_from([1, 2]))
def test_encode_then_parse_is_identity(serial, year, signature, version):
    facts = FirearmFacts(maker_code="GLK", serial=serial, country="AT", year=year)
    text = encode_payload("TRACEMARK.LOCAL", ITEM, facts, signature, version)
    payload = parse_payload(text)
    assert (payload.facts, payload.signature, payload.version) == (facts, signature, version)
    assert base64.b32decode(text.rsplit("/", 1)[1]) == signature


def test_the_host_is_signed_with_the_facts():
    text = encode_payload("TRACEMARK.LOCAL", ITEM, FIREARM, sign_claim(ACCOUNT, "TRACEMARK.LOCAL", ITEM, FIREARM))
    assert recover_marker(parse_payload(text)) == ACCOUNT.address
    try:
        assert recover_marker(parse_payload(text.replace("TRACEMARK.LOCAL", "TRACEMARK.EVIL"))) != ACCOUNT.address
    except SignatureError:
        pass


def test_a_first_format_code_signed_the_facts_only_and_keeps_its_slashes():
    """Codes issued before the host was signed still parse and verify; scanners compare their host instead."""
    text = encode_payload("TRACEMARK.LOCAL", ITEM, FIREARM, sign_claim(ACCOUNT, "TRACEMARK.LOCAL", ITEM, FIREARM, 1), 1)
    assert f"/I/{ITEM}/F*BER*PX4/DE-001.A*IT*2024/" in text
    payload = parse_payload(text)
    assert payload.version == 1 and payload.facts == FIREARM and payload.text == text
    assert recover_marker(parse_payload(text.replace("TRACEMARK.LOCAL", "ELSEWHERE.ORG"))) == ACCOUNT.address


def test_a_slash_in_a_fact_is_written_percent_2f_so_the_path_has_the_grammars_segments_only():
    facts = FirearmFacts(maker_code="BER", serial="A/../B/./C", country="IT", year=2024)
    text = encode_payload("H.ORG", ITEM, facts, sign_claim(ACCOUNT, "H.ORG", ITEM, facts))
    assert text.split("/")[3:6] == ["I", ITEM, "F2*BER*A%2F..%2FB%2F.%2FC*IT*2024"]
    assert parse_payload(text.lower()).facts == facts
    with pytest.raises(MalformedCode, match="%2F"):
        parse_payload(text.replace("%2F", "/"))
    with pytest.raises(MalformedCode, match="format version"):
        parse_payload(text.replace("/F2*", "/F3*"))
