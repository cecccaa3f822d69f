"""Where an item has been and who dealt with it: what decides who may read its events.

Police and customs read an item's story only when it touches their country: marked, held, shipped
to, seen or seized there. Licensed parties read only the items they took part in. Both are read
from the item's own entries, so they hold for any event type without a list to keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from ledger.domain.events import json_object
from ledger.store.ledger import Ledger
from ledger.store.tables import Entry, Party, Permit

__all__ = ["Reach", "item_reach"]


@dataclass(frozen=True)
class Reach:
    """The countries an item touched and the parties that acted on it or were sent it."""

    countries: frozenset[str]
    parties: frozenset[str]


def item_reach(ledger: Ledger, uid: str) -> Reach:
    """The item's reach over all its entries (NotFound when there is no such item)."""
    item = ledger.item(uid)
    countries, parties, permits = {item.country}, set(), {item.permit_number} - {None}
    with ledger.reading() as session:
        for actor, raw in session.exec(select(Entry.actor, Entry.event).where(Entry.item_uid == uid)):
            event = json_object(raw)
            parties.add(actor)
            parties.update(_named(event, "to"))
            countries.update(_event_countries(event))
            permits.update(_named(event, "permit"))
        countries.update(session.exec(select(Party.country).where(Party.id.in_(parties))))  # type: ignore[attr-defined]
        for permit in session.exec(select(Permit).where(Permit.number.in_(permits))):  # type: ignore[attr-defined]
            countries.update((permit.export_country, permit.import_country))
    return Reach(frozenset(countries), frozenset(parties))


def _event_countries(event: dict[str, Any]) -> list[str]:
    """The countries an event names: where it happened, where a marking or tag says the item is from."""
    marking, tag = event.get("marking") or {}, event.get("tag") or {}
    found = [event.get("country"), marking.get("country"), (marking.get("import_marking") or {}).get("country"),
             tag.get("country_of_origin")]
    return [country for country in found if isinstance(country, str)]


def _named(event: dict[str, Any], field: str) -> list[str]:
    value = event.get(field)
    return [value] if isinstance(value, str) else []
