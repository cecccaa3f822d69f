"""The entry bytes built by concatenation are exactly RFC 8785 of the same object (checked against rfc8785),
and the event key sorts by the event's own time."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
import rfc8785
from eth_utils import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.events import event_bytes, parse_event
from ledger.errors import EventTooLarge
from ledger.log.codec import format_time
from ledger.log.entry import MAX_ENTRY_SIZE, check_entry_size, entry_bytes, entry_leaf_hash, entry_size_bound, key_of
from ledger.log.merkle import leaf_hash
from tests.ledger.domain.test_events import PERMIT, VALID, event

json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)
events = st.sampled_from(sorted(VALID)).map(event) | st.dictionaries(st.text(), json_values, max_size=6)
times = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(timezone.utc)).map(format_time)
signers = st.binary(min_size=20, max_size=20).map(lambda raw: to_checksum_address(raw))
signatures = st.binary(min_size=65, max_size=65).map(lambda raw: "0x" + raw.hex())


@given(seq=st.integers(0, 2**53 - 1), prev=st.binary(min_size=32, max_size=32), recorded=times, event=events,
       signer=signers, signature=signatures, imported=st.booleans())
def test_entry_bytes_are_rfc8785(seq: int, prev: bytes, recorded: str, event: dict, signer: str, signature: str,
                                 imported: bool) -> None:
    """An imported entry says so in its bytes (`"imported": true`); a live one has no such member."""
    signed = event_bytes(event)
    reference = rfc8785.dumps({"seq": seq, "prev": prev.hex(), "recorded": recorded, "event": event,
                               "signer": signer, "signature": signature} | ({"imported": True} if imported else {}))
    assert entry_bytes(seq, prev, recorded, signed, signer, signature, imported) == reference
    assert entry_leaf_hash(seq, prev, recorded, signed, signer, signature, imported) == leaf_hash(reference)


@pytest.mark.parametrize("field", ["recorded_at", "signer", "signature"])
@pytest.mark.parametrize("bad", ['"', "\\", "\u00e9", " ", "\n"])
def test_values_that_would_need_escaping_are_refused(field: str, bad: str) -> None:
    values = {"recorded_at": "2026-11-23T12:00:00.000Z", "signer": "0x" + "ab" * 20, "signature": "0x" + "cd" * 65}
    values[field] += bad
    with pytest.raises(ValueError, match=field):
        entry_bytes(1, bytes(32), values["recorded_at"], b"{}", values["signer"], values["signature"])


hashes = st.binary(min_size=32, max_size=32)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.datetimes(min_value=datetime(1700, 1, 2), max_value=datetime(2240, 12, 30), timezones=offsets)


@given(first=moments, later=moments, h1=hashes, h2=hashes)
def test_event_keys_sort_by_the_events_second_whatever_their_hashes(first: datetime, later: datetime, h1: bytes, h2: bytes) -> None:
    """Events come in about the order of their times, so their keys land at the index's right edge."""
    if math.floor(first.timestamp()) != math.floor(later.timestamp()):  # floor: int() joins the two seconds around 1970
        early, late = sorted((first, later))
        assert key_of(h1, early.isoformat()) < key_of(h2, late.isoformat())


@given(moment=st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(timezone.utc)).map(format_time), h1=hashes, h2=hashes)
def test_an_event_key_fits_a_bigint_and_within_a_second_its_hash_decides(moment: str, h1: bytes, h2: bytes) -> None:
    assert -(2**63) <= key_of(h1, moment) < 2**63  # clamped outside 1698-2242
    if h1[:3] != h2[:3]:  # the key holds the hash's first 30 bits
        assert key_of(h1, moment) != key_of(h2, moment)


# --- entries an entry bundle can carry (C2SP tlog-tiles: each entry after its uint16 length) ---------------

SIGNER = "0x" + "ab" * 20
SIGNATURE = "0x" + "cd" * 65


@given(seq=st.integers(0, 2**64 - 1), recorded=times, imported=st.booleans(), length=st.integers(0, 3000))
def test_the_size_bound_holds_for_every_seq_time_and_import_mark(seq: int, recorded: str, imported: bool, length: int) -> None:
    event = b"[" + b"1," * length + b"1]"
    assert len(entry_bytes(seq, bytes(32), recorded, event, SIGNER, SIGNATURE, imported)) <= entry_size_bound(event, SIGNER, SIGNATURE)


def test_an_event_whose_entry_could_pass_65535_bytes_is_refused_naming_both_sizes() -> None:
    room = MAX_ENTRY_SIZE - entry_size_bound(b"", SIGNER, SIGNATURE)
    check_entry_size(b"x" * room, SIGNER, SIGNATURE)  # the largest that fits
    with pytest.raises(EventTooLarge) as refused:
        check_entry_size(b"x" * (room + 1), SIGNER, SIGNATURE)
    assert (refused.value.size, refused.value.limit) == (65_536, 65_535)
    assert refused.value.field == "event" and "65,535" in str(refused.value) and "uint16" in str(refused.value)


def test_the_largest_event_the_schema_allows_fits_an_entry_bundle() -> None:
    """A permit of 100 lines, each species 120 four-byte characters (the longest fields of any event):
    were a schema bound raised past what a bundle carries, this fails before a log refuses such events."""
    line = {"species": "\U0001F98F" * 120, "quantity": "999999999999.999999"[:32], "unit": "abcdefgh"}
    lines = [PERMIT["lines"][0] | line | {"line": n} for n in range(1, 101)]
    largest = event("issue_permit", permit__lines=lines, origin="o" * 255)
    parse_event(largest)  # valid
    size = entry_size_bound(event_bytes(largest), SIGNER, SIGNATURE)
    assert 60_000 < size <= MAX_ENTRY_SIZE, size
