"""Event validation: every event type parses when well formed, and each bad field is refused by name."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ulid import ULID

from ledger.domain import events as ev
from ledger.errors import EventInvalid
from ledger.log.checkpoint import LogKey
from ledger.log.codec import format_time
from ledger.log.keys import new_account
from ledger.log.signatures import sign_event
from tests.conftest import NOW

T = format_time(NOW)
ITEM = "01JD7Q3N2M4X5Y6Z7A8B9C0D1E"
ADDRESS = new_account().address
MARKING = {"maker_code": "BER", "serial": "PX4-DE-001", "country": "IT", "year": 2025, "make": "Beretta",
           "model": "APX A1", "category": "B", "calibre": "9x19mm"}
TAG = {"kind": "universal_tag", "serial": "KE-CN-2026-000001", "species": "Crocodylus niloticus", "species_code": "CRONIL",
       "country_of_origin": "KE", "year": 2026, "quantity": "1", "unit": "pcs"}
LINE = {"line": 1, "species": "Crocodylus niloticus", "appendix": "II", "source": "R", "purpose": "T", "quantity": "6", "unit": "pcs"}
PERMIT = {"number": "KE-2026-EX-0042", "kind": "export", "issuing_country": "KE", "exporter": "ke-croc-ranch",
          "importer": "de-leder", "export_country": "KE", "import_country": "DE", "valid_from": "2026-01-01T00:00:00.000Z",
          "valid_until": "2026-12-31T00:00:00.000Z", "lines": [LINE]}
PARTY = {"id": "it-beretta", "name": "Beretta", "role": "manufacturer", "country": "IT", "licence_number": "IT-1",
         "licence_valid_from": "2025-01-01T00:00:00.000Z", "licence_valid_until": "2030-01-01T00:00:00.000Z",
         "addresses": [ADDRESS]}
CROSSING = {"item": ITEM, "permit": "KE-2026-EX-0042", "line": 1, "quantity": "1.5", "country": "KE", "location": "JKIA"}
REPORT = {"item": ITEM, "place": "Frankfurt", "details": "missing at stock count"}

VALID: dict[str, dict[str, Any]] = {
    "register_party": {"party": PARTY},
    "add_key": {"party": "it-beretta", "address": ADDRESS},
    "revoke_key": {"party": "it-beretta", "address": ADDRESS, "from_time": T, "reason": "laptop stolen"},
    "mark_firearm": {"item": ITEM, "marking": MARKING | {"import_marking": {"country": "DE", "year": 2026}}},
    "mark_specimen": {"item": ITEM, "permit": "KE-2026-EX-0042", "line": 1, "tag": TAG},
    "issue_permit": {"permit": PERMIT},
    "cancel_permit": {"permit": "KE-2026-EX-0042", "reason": "issued in error"},
    "transfer": {"item": ITEM, "to": "de-jagd-schmidt", "reference": "DE-EUB-2025-114"},
    "receive": {"item": ITEM},
    "export": CROSSING,
    "import": CROSSING | {"country": "DE"},
    "report_lost": REPORT,
    "report_stolen": REPORT,
    "recover": REPORT,
    "seize": {"item": ITEM, "country": "BE", "place": "Liege", "reason": "vehicle search", "case": "LG-1"},
    "release": {"item": ITEM, "reason": "licence confirmed"},
    "forfeit": {"item": ITEM, "reason": "court order"},
    "destroy": {"item": ITEM, "method": "cut and melted", "reason": "forfeited"},
    "deactivate": {"item": ITEM, "method": "EU 2015/2403", "reason": "collector"},
    "inspect": {"item": ITEM, "country": "DE", "location": "FRA", "direction": "import", "verdict": "VALID"},
    "correct": {"target_seq": 3, "reason": "typo in the model", "marking": {"model": "APX A1 Carry"}},
    "void_inspection": {"item": ITEM, "inspection_seq": 7, "reason": "test scan of a new reader"},
    "confirm_finding": {"item": ITEM, "question_seq": 7, "reason": "crossed without an export declaration"},
    "dismiss_finding": {"item": ITEM, "question_seq": 7, "reason": "the code was misread"},
    "trace_request": {"authority": "de-police", "agency": "Police Federale", "case": "LG-1", "serial": "PX4-DE-001",
                      "make": "Beretta", "country": "BE", "recovery_place": "Liege", "recovery_date": T},
    "trace_answer": {"request_seq": 5, "item": ITEM, "answer_digest": "ab" * 32, "summary": "diverted after retail sale"},
    "add_peer": {"peer": {"name": "de", "origin": "registry.de.example/log", "vkey": LogKey.generate("registry.de.example/log").verifier_key,
                          "url": "https://registry.de.example", "country": "DE", "share": ["facts"]}},
    "remove_peer": {"name": "de", "reason": "the agreement ended"},
    "peer_trace_request": {"peer": "de", "item": ITEM, "reason": "recovered at the border", "deadline": T},
    "peer_trace_arrival": {"peer": "ke", "peer_origin": "registry.ke.example/log", "peer_seq": 12, "requester": "investigator",
                           "item": ITEM, "reason": "recovered at the border", "deadline": T},
    "peer_trace_decision": {"arrival_seq": 40, "outcome": "refused", "reason": "a court order is needed"},
    "peer_trace_answer": {"request_seq": 12, "outcome": "granted", "peer_seq": 41, "answer_digest": "ab" * 32, "checkpoint_size": 42},
    "hit_notice": {"item": ITEM, "peer": "ke", "peer_origin": "kws.ke.example/log", "peer_seq": 12, "peer_leaf_hash": "ab" * 32,
                   "country": "KE", "location": "Namanga", "verdict": "REPORTED_LOST_STOLEN"},
}


def event(event_type: str, **changes: Any) -> dict[str, Any]:
    """A valid event of `event_type`, with `changes` applied at dotted paths (None deletes)."""
    raw = copy.deepcopy({"type": event_type, "actor": "it-beretta", "time": T, **VALID[event_type]})
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = raw
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key = int(last) if isinstance(node, list) else last
        if value is None:
            del node[key]
        else:
            node[key] = value
    return raw


def refused(raw: dict[str, Any]) -> EventInvalid:
    with pytest.raises(EventInvalid) as caught:
        ev.parse_event(raw)
    return caught.value


def test_every_event_type_has_a_valid_example() -> None:
    assert set(VALID) == {cls.model_fields["type"].annotation.__args__[0] for cls in ev.Event.__origin__.__args__}


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_valid_event_parses_to_its_type(event_type: str) -> None:
    parsed = ev.parse_event(event(event_type))
    assert parsed.type == event_type
    assert ev.parse_event(ev.event_bytes(event(event_type))) == parsed  # the signed bytes parse the same


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_unknown_field_is_refused_in_every_type(event_type: str) -> None:
    assert refused(event(event_type, note="hi")).field == "note"


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_naive_time_is_refused_in_every_type(event_type: str) -> None:
    error = refused(event(event_type, time="2026-11-23T12:00:00"))
    assert error.field == "time" and "timezone" in error.detail


@pytest.mark.parametrize(
    ("event_type", "changes", "field"),
    [
        # unknown fields deep inside
        ("mark_firearm", {"marking__colour": "black"}, "marking.colour"),
        ("issue_permit", {"permit__lines__0__note": "x"}, "permit.lines.0.note"),
        # ISO 3166 countries
        ("register_party", {"party__country": "XX"}, "party.country"),
        ("register_party", {"party__country": "it"}, "party.country"),
        ("register_party", {"party__country": "ITA"}, "party.country"),
        ("mark_firearm", {"marking__country": "ZZ"}, "marking.country"),
        ("mark_firearm", {"marking__import_marking__country": "QQ"}, "marking.import_marking.country"),
        ("mark_specimen", {"tag__country_of_origin": "UK"}, "tag.country_of_origin"),
        ("issue_permit", {"permit__export_country": "EU"}, "permit.export_country"),
        ("export", {"country": "K1"}, "country"),
        ("seize", {"country": "be"}, "country"),
        ("inspect", {"country": ""}, "country"),
        # CITES appendix, source and purpose codes; firearm category
        ("issue_permit", {"permit__lines__0__appendix": "IV"}, "permit.lines.0.appendix"),
        ("issue_permit", {"permit__lines__0__appendix": "2"}, "permit.lines.0.appendix"),
        ("issue_permit", {"permit__lines__0__source": "K"}, "permit.lines.0.source"),
        ("issue_permit", {"permit__lines__0__source": "w"}, "permit.lines.0.source"),
        ("issue_permit", {"permit__lines__0__purpose": "K"}, "permit.lines.0.purpose"),
        ("issue_permit", {"permit__lines__0__purpose": "commercial"}, "permit.lines.0.purpose"),
        ("mark_firearm", {"marking__category": "D"}, "marking.category"),
        ("mark_firearm", {"marking__category": "b"}, "marking.category"),
        # quantities are positive decimal strings, never floats or integers
        ("export", {"quantity": 1.5}, "quantity"),
        ("export", {"quantity": 2}, "quantity"),
        ("export", {"quantity": "1e400x"}, "quantity"),
        ("export", {"quantity": "0"}, "quantity"),
        ("export", {"quantity": "-1"}, "quantity"),
        ("export", {"quantity": "NaN"}, "quantity"),
        ("export", {"quantity": "Infinity"}, "quantity"),
        ("export", {"quantity": "0.0000001"}, "quantity"),
        # ... and bounded: below 10^12, at most 32 characters
        ("export", {"quantity": "1E+1000000"}, "quantity"),
        ("export", {"quantity": "1000000000000"}, "quantity"),
        ("export", {"quantity": "1E+12"}, "quantity"),
        ("export", {"quantity": "0" * 32 + "1"}, "quantity"),
        ("mark_specimen", {"tag__quantity": "1E+1000000"}, "tag.quantity"),
        ("issue_permit", {"permit__lines__0__quantity": "9" * 13}, "permit.lines.0.quantity"),
        ("mark_specimen", {"tag__quantity": 1.0}, "tag.quantity"),
        ("issue_permit", {"permit__lines__0__quantity": 6.0}, "permit.lines.0.quantity"),
        ("mark_firearm", {"marking__year": 2025.0}, "marking.year"),
        ("mark_firearm", {"marking__year": "2025"}, "marking.year"),
        # times carry a timezone
        ("revoke_key", {"from_time": "2026-11-23T12:00:00"}, "from_time"),
        ("issue_permit", {"permit__valid_until": "2026-12-31T00:00:00"}, "permit.valid_until"),
        ("register_party", {"party__licence_valid_until": "2030-01-01"}, "party.licence_valid_until"),
        ("transfer", {"time": "yesterday"}, "time"),
        # serials: upper-case ASCII only, no look-alikes or invisible characters
        ("mark_firearm", {"marking__serial": "PX4-DE-0\u041e1"}, "marking.serial"),  # Cyrillic O
        ("mark_firearm", {"marking__serial": "\u0420X4-DE-001"}, "marking.serial"),  # Cyrillic Er for P
        ("mark_firearm", {"marking__serial": "PX4-DE-\u0031\u200b001"}, "marking.serial"),  # zero-width space
        ("mark_firearm", {"marking__serial": "PX4-DE-001\u202e"}, "marking.serial"),  # right-to-left override
        ("mark_firearm", {"marking__serial": "PX4\u2066-DE-001"}, "marking.serial"),  # bidi isolate
        ("mark_firearm", {"marking__serial": "\ufeffPX4-DE-001"}, "marking.serial"),  # byte-order mark
        ("mark_firearm", {"marking__serial": "\uff30X4-DE-001"}, "marking.serial"),  # full-width P
        ("mark_firearm", {"marking__serial": "px4-de-001"}, "marking.serial"),
        ("mark_firearm", {"marking__serial": "PX4 DE 001"}, "marking.serial"),
        ("mark_firearm", {"marking__serial": "PX4-DE-001\n"}, "marking.serial"),
        ("mark_specimen", {"tag__serial": "KE-CN-2026-00000\u0417"}, "tag.serial"),  # Cyrillic Ze for 3
        # invisible characters in free text are refused too, naming the field
        ("mark_firearm", {"marking__make": "Ber\u200betta"}, "marking.make"),
        ("transfer", {"reference": "INV\u202e-1"}, "reference"),
        ("register_party", {"party__name": "Beretta\u2069"}, "party.name"),
        ("seize", {"reason": "found\x00"}, "reason"),
        # ids, addresses and other shapes
        ("transfer", {"item": "01jd7q3n2m4x5y6z7a8b9c0d1e"}, "item"),
        ("transfer", {"item": "not-a-ulid-not-a-ulid-0000"}, "item"),
        ("transfer", {"to": "De-Schmidt"}, "to"),
        ("add_key", {"address": "0x1234"}, "address"),
        ("register_party", {"party__addresses": ["0xnothex"]}, "party.addresses.0"),  # the error names the bad element
        ("register_party", {"party__addresses": [ADDRESS, ADDRESS.lower()]}, "party.addresses"),
        ("register_party", {"party__role": "smuggler"}, "party.role"),
        ("inspect", {"direction": "sideways"}, "direction"),
        ("trace_request", {"serial": "PX4-DE-0\u041e1"}, "serial"),
        ("trace_request", {"country": "XX"}, "country"),
        ("trace_answer", {"answer_digest": "AB" * 32}, "answer_digest"),
        ("correct", {"target_seq": -1}, "target_seq"),
        ("export", {"line": 0}, "line"),
        ("issue_permit", {"permit__lines": []}, "permit.lines"),
        # missing fields
        ("mark_firearm", {"marking__serial": None}, "marking.serial"),
        ("transfer", {"reference": None}, "reference"),
        ("transfer", {"actor": None}, "actor"),
    ],
)
def test_bad_field_is_refused_by_name(event_type: str, changes: dict[str, Any], field: str) -> None:
    assert refused(event(event_type, **changes)).field == field


@pytest.mark.parametrize("quantity", ["999999999999.999999", "0.000001", "1E+11", "12.50"])
def test_quantities_within_the_bounds_are_accepted(quantity: str) -> None:
    assert ev.parse_event(event("export", quantity=quantity)).quantity == quantity  # type: ignore[union-attr]


def _string_fields(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _string_fields(item, (*path, key))]
    if isinstance(value, list):
        return [found for at, item in enumerate(value) for found in _string_fields(item, (*path, str(at)))]
    return []


_EVERY_STRING_FIELD = [
    (event_type, path)
    for event_type in VALID
    for path in _string_fields(event(event_type))
    if path != ("type",) and not (event_type == "correct" and path[0] == "marking")
]  # a correction's marking is a patch, judged as a whole marking when it is applied (ledger.rules)


@pytest.mark.parametrize("invisible", ["\x00", "\n", "\x7f", "\x85", "\u200b", "\u202e", "\u2066", "\ufeff"])
@pytest.mark.parametrize(("event_type", "path"), _EVERY_STRING_FIELD, ids=lambda p: ".".join(p) if isinstance(p, tuple) else p)
def test_no_string_field_takes_an_invisible_character(event_type: str, path: tuple[str, ...], invisible: str) -> None:
    """Whatever its type (free text, code, id, time, quantity), a field with a control or
    invisible formatting character in it is refused by name: what is signed is what is shown."""
    value: Any = event(event_type)
    for part in path:
        value = value[int(part)] if isinstance(value, list) else value[part]
    raw = event(event_type, **{"__".join(path): value[:1] + invisible + value[1:]})
    assert refused(raw).field == ".".join(path)


@pytest.mark.parametrize(("event_type", "path"), [("mark_firearm", "marking__make"), ("transfer", "reference"),
                                                  ("register_party", "party__name"), ("seize", "reason"),
                                                  ("mark_specimen", "tag__quantity")])
def test_free_text_with_an_invisible_character_says_so(event_type: str, path: str) -> None:
    assert refused(event(event_type, **{path: "1\u200b2"})).detail == "control or invisible formatting characters are not allowed"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"permit__valid_until": "2025-06-01T00:00:00.000Z"}, "valid_until must be after valid_from"),
        ({"permit__import_country": "KE"}, "export and import countries must differ"),
        ({"permit__lines": [LINE, LINE]}, "line numbers must be unique"),
        ({"permit__lines": [LINE | {"appendix": None}]}, "CITES permits need appendix, source and purpose"),
    ],
)
def test_inconsistent_permit_is_refused(changes: dict[str, Any], says: str) -> None:
    error = refused(event("issue_permit", **changes))
    assert says in str(error) and error.field == "permit"


def test_firearm_permit_needs_no_cites_codes() -> None:
    line = {"line": 1, "species": "pistol, 9x19mm", "quantity": "10", "unit": "pcs"}
    parsed = ev.parse_event(event("issue_permit", permit__kind="firearm_export", permit__lines=[line]))
    assert parsed.permit.lines[0].appendix is None


def test_transfer_names_exactly_one_receiver() -> None:
    both = refused(event("transfer", owner_commitment="ab" * 32))
    neither = refused(event("transfer", to=None))
    assert "exactly one" in both.detail and "exactly one" in neither.detail


def test_unknown_event_type_is_refused() -> None:
    assert "type" in str(refused({"type": "smuggle", "actor": "it-beretta", "time": T}))


def test_event_must_be_a_json_object() -> None:
    with pytest.raises(EventInvalid, match="JSON object"):
        ev.parse_event(b"[1, 2]")
    with pytest.raises(EventInvalid, match="not JSON"):
        ev.parse_event(b"{nope")


def test_floats_never_enter_signed_bytes() -> None:
    """A float hidden where the schema accepts any JSON (a correction's marking) is refused before signing."""
    raw = event("correct", marking={"year": 2025.0})
    with pytest.raises(EventInvalid, match="floats"):
        ev.event_bytes(raw)
    with pytest.raises(EventInvalid, match="floats"):
        sign_event(new_account(), raw, origin="test.tracemark.local/log")


def test_naive_datetime_cannot_be_formatted_into_an_event() -> None:
    with pytest.raises(EventInvalid, match="naive"):
        format_time(NOW.replace(tzinfo=None))


def test_time_with_offset_is_accepted() -> None:
    assert ev.parse_event(event("receive", time="2026-11-23T13:00:00+01:00")).time == "2026-11-23T13:00:00+01:00"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz*", min_size=24, max_size=27))
def test_item_ids_are_exactly_what_python_ulid_prints(text: str) -> None:
    try:
        printed = str(ULID.from_str(text)) == text
    except ValueError:
        printed = False
    raw = event("mark_firearm", item=text)
    if printed:
        assert ev.parse_event(raw).item == text
    else:
        refused(raw)


def test_fresh_ulids_are_item_ids() -> None:
    for _ in range(200):
        uid = str(ULID())
        assert ev.parse_event(event("mark_firearm", item=uid)).item == uid
