"""`canonical` gives exactly rfc8785's bytes, whichever path it takes, and refuses what JCS cannot hold."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import EventInvalid
from ledger.log.codec import canonical

_SAFE = 2**53 - 1
ascii_keys = st.text(st.characters(max_codepoint=127), max_size=8)
any_keys = st.text(max_size=8)  # astral and private-use characters sort differently by UTF-16 than by code point
scalars = st.none() | st.booleans() | st.integers(-_SAFE, _SAFE) | st.text()


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(json_values(ascii_keys))
def test_event_shaped_values_match_rfc8785(value: object) -> None:
    assert canonical(value) == rfc8785.dumps(value)


@settings(max_examples=400, deadline=None)
@given(json_values(any_keys))
def test_any_keys_match_rfc8785(value: object) -> None:
    assert canonical(value) == rfc8785.dumps(value)


def test_key_order_is_by_utf16_code_units() -> None:
    # U+1F600 is D83D DE00 in UTF-16, before U+FF61; by code point it would come after
    assert canonical({"\uff61": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\uff61":1}'.encode()


def test_control_characters_are_escaped_as_jcs_says() -> None:
    assert canonical({"s": "a\u0001\b\t\n\f\r\"\\\u007f/é"}) == b'{"s":"a\\u0001\\b\\t\\n\\f\\r\\"\\\\\x7f/\xc3\xa9"}'


@pytest.mark.parametrize("value", [1.5, {"a": [1, 2.0]}, {"\u00e9": 0.1}])
def test_floats_are_refused_anywhere(value: object) -> None:
    with pytest.raises(EventInvalid, match="floats"):
        canonical(value)


@pytest.mark.parametrize("value", [2**53, {"n": -(2**60)}, "\ud800", {"k": ["\udfff"]}, {1: "non-string key"}])
def test_what_jcs_cannot_hold_is_refused(value: object) -> None:
    with pytest.raises(EventInvalid, match="cannot canonicalise"):
        canonical(value)
