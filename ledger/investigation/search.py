"""Finding items the way an investigator names them: by serial, by item id, or by a party that held them.

People read a serial and a maker, not a ULID: `labels` gives every item shown on a page the words
it is known by, and `search_items` turns what was typed into the items it names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from ledger.store.ledger import Ledger
from ledger.store.tables import Diversion, FormerSerial, Item, Party

__all__ = ["ItemLabel", "Hit", "facts_label", "labels", "party_directory", "search_items", "SEARCH_LIMIT"]

SEARCH_LIMIT = 50
ULID_LENGTH = 26


@dataclass(frozen=True)
class ItemLabel:
    """An item as a person knows it: maker (or species), model and serial."""

    uid: str
    kind: str
    serial: str
    maker: str
    model: str
    status: str
    custodian: str | None

    @property
    def name(self) -> str:
        """"Beretta APX A1", "Crocodylus niloticus": what the item is."""
        return " ".join(part for part in (self.maker, self.model) if part)

    @property
    def text(self) -> str:
        """The item's label on a link: what it is and its serial."""
        return f"{self.name} · {self.serial}" if self.name else self.serial


@dataclass(frozen=True)
class Hit:
    """A found item and what the query matched on it."""

    item: ItemLabel
    matched: str


def facts_label(uid: str, kind: str, facts: Mapping[str, Any], status: str, marker: str = "", custodian: str | None = None) -> ItemLabel:
    """An item's label from its marking facts (another log's item, known by the chain it sent), `marker` naming
    the maker when the facts do not."""
    maker = facts.get("make") or facts.get("species") or marker
    model = facts.get("model", "") if "make" in facts else ""
    return ItemLabel(uid, kind, str(facts.get("serial", "")), str(maker), str(model), status, custodian)


def _label(item: Item, party_names: dict[str, str]) -> ItemLabel:
    return facts_label(item.uid, item.kind, item.facts | {"serial": item.serial}, item.status, party_names.get(item.marker, item.marker),
                       item.custodian)


def labels(ledger: Ledger, uids: Iterable[str]) -> dict[str, ItemLabel]:
    """The label of each known item among `uids` (unknown ones are left out)."""
    wanted = sorted(set(uids))
    if not wanted:
        return {}
    with ledger.reading() as session:
        items = list(session.exec(select(Item).where(Item.uid.in_(wanted))))  # type: ignore[attr-defined]
        names = _party_names(session, {item.marker for item in items})
    return {item.uid: _label(item, names) for item in items}


def party_directory(ledger: Ledger) -> dict[str, tuple[str, str]]:
    """Each party's (name, country), to label parties on the pages."""
    with ledger.reading() as session:
        return {party: (name, country) for party, name, country in session.exec(select(Party.id, Party.name, Party.country))}


def _party_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return {party: name for party, name in session.exec(select(Party.id, Party.name).where(Party.id.in_(sorted(ids))))}  # type: ignore[attr-defined]


def search_items(ledger: Ledger, query: str, limit: int = SEARCH_LIMIT) -> list[Hit]:
    """Items whose id or serial (current or former) is `query` or starts with it, then items a party
    whose id or name contains `query` marked, holds, seized or last held before a diversion."""
    text = query.strip()
    if not text:
        return []
    found: dict[str, str] = {}
    with ledger.reading() as session:
        if len(text) == ULID_LENGTH:
            found.update((uid, "item id") for uid in session.exec(select(Item.uid).where(Item.uid == text.upper())))
        serials = select(Item.uid, Item.serial).where(or_(col(Item.serial) == text, col(Item.serial) == text.upper(),
                                                          func.upper(Item.serial).like(_prefix(text.upper()), escape="\\")))
        for uid, serial in session.exec(serials.order_by(Item.serial).limit(limit)):
            found.setdefault(uid, f"serial {serial}")
        former = select(FormerSerial.uid, FormerSerial.serial).where(func.upper(FormerSerial.serial) == text.upper())
        for uid, serial in session.exec(former.limit(limit)):
            found.setdefault(uid, f"former serial {serial}")
        named = select(Party.id, Party.name).where(or_(
            func.lower(Party.id) == text.lower(), func.lower(Party.name).like(f"%{_escaped(text.lower())}%", escape="\\")))
        parties = {party: name for party, name in session.exec(named)}
        if parties:
            ids = sorted(parties)
            held = select(Item.uid, Item.marker, Item.custodian, Item.seized_by).where(or_(
                col(Item.marker).in_(ids), col(Item.custodian).in_(ids), col(Item.seized_by).in_(ids)))
            for uid, marker, custodian, seized_by in session.exec(held.order_by(col(Item.last_seq).desc()).limit(limit)):
                party = next(p for p in (custodian, seized_by, marker) if p in parties)
                found.setdefault(uid, f"{'held by' if party == custodian else 'seized by' if party == seized_by else 'marked by'} {party}")
            before = select(Diversion.uid, Diversion.last_legit_custodian).where(col(Diversion.last_legit_custodian).in_(ids))
            for uid, last_custodian in session.exec(before.limit(limit)):
                found.setdefault(uid, f"diverted after {last_custodian} held it")
    uids = list(found)[:limit]
    labelled = labels(ledger, uids)
    return [Hit(labelled[uid], found[uid]) for uid in uids if uid in labelled]


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefix(text: str) -> str:
    return _escaped(text) + "%"
