"""Fields that several event types share, read from the `Event` union with their types checked.

Rules and projections are registered per event type, so the field is there; these say so to the
type checker, and a handler registered for the wrong type fails with a clear error, not an AttributeError.
"""

from __future__ import annotations

from ledger.domain import events as ev

__all__ = ["WrongEventType", "item_of", "permit_number_of"]


class WrongEventType(TypeError):
    """An event reached code written for events that carry `field`, and it carries none."""

    def __init__(self, event_type: str, field: str) -> None:
        super().__init__(f"a {event_type} event has no {field}")
        self.event_type = event_type
        self.field = field


def item_of(event: ev.Event) -> str:
    """The id of the item an item event is about."""
    return _text(event, "item")


def permit_number_of(event: ev.Event) -> str:
    """The permit number an event names (a specimen's marking, a crossing, a cancellation)."""
    return _text(event, "permit")


def _text(event: ev.Event, field: str) -> str:
    value = ev.event_field(event, field)
    if not isinstance(value, str):
        raise WrongEventType(event.type, field)
    return value
