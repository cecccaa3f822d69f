"""Shared event fields read from the Event union: the value for a type that has it, a clear error otherwise."""

from __future__ import annotations

import pytest

from ledger.domain import events as ev
from ledger.domain.event_fields import WrongEventType, item_of, permit_number_of
from tests.ledger.domain.test_events import event


def test_item_of_an_item_event_is_its_item() -> None:
    raw = event("transfer")
    assert item_of(ev.parse_event(raw)) == raw["item"]


def test_permit_number_of_a_crossing_is_its_permit() -> None:
    raw = event("export")
    assert permit_number_of(ev.parse_event(raw)) == raw["permit"]


def test_an_event_without_the_field_is_refused_by_name() -> None:
    with pytest.raises(WrongEventType, match="a register_party event has no item") as caught:
        item_of(ev.parse_event(event("register_party")))
    assert (caught.value.event_type, caught.value.field) == ("register_party", "item")
    with pytest.raises(WrongEventType, match="has no permit"):
        permit_number_of(ev.parse_event(event("issue_permit")))  # an issued permit is a PermitInfo, not a number
