"""An item's story from the log: its entries, the chain of custodians, and their proofs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, union_all

from ledger import INSPECTION, NOT_INSPECTION, Attestation, Entry, Permit, Snapshot, json_object, rows_of

__all__ = ["HistoryEntry", "history_entry", "item_entries", "item_story", "custody_chain", "inclusion_out",
           "PRIVATE_OWNER"]

PRIVATE_OWNER = "private owner"

_NEWEST = rows_of(Entry).where(Entry.item_uid == bindparam("uid")).order_by(Entry.seq.desc())  # type: ignore[union-attr]
_CUSTODY = _NEWEST.where(NOT_INSPECTION).limit(bindparam("limit")).subquery()  # by ix_entry_item_custody, past any number of inspections
_SIGHTING = _NEWEST.where(INSPECTION).limit(1).subquery()
_STORY = select(*union_all(select(*_CUSTODY.c), select(*_SIGHTING.c)).subquery().c)
"""An item's newest custody entries and its newest inspection, in one statement (entry columns in table order)."""
_NEWEST_SOME = _NEWEST.limit(bindparam("limit"))


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    type: str
    actor: str
    time: str
    recorded_at: str
    leaf_hash: bytes
    event: dict[str, Any]
    event_bytes: bytes  # as signed
    signer: str
    signature: str
    imported: bool  # by the authority, from an earlier registry


def item_entries(reads: Snapshot, uid: str, limit: int | None = None) -> list[HistoryEntry]:
    """The item's entries in log order (the newest `limit` of them when given)."""
    rows = reads.all(Entry, _NEWEST, {"uid": uid}) if limit is None else reads.all(Entry, _NEWEST_SOME, {"uid": uid, "limit": limit})
    return [history_entry(row) for row in reversed(rows)]


def item_story(reads: Snapshot, uid: str, limit: int) -> list[HistoryEntry]:
    """What a scan needs of an item's past: its newest `limit` custody entries and its last sighting.

    Inspections pile up at every border post; a scan reads only the newest one, so its cost does
    not grow with how often the item was scanned before.
    """
    rows = reads.all(Entry, _STORY, {"uid": uid, "limit": limit})
    return [history_entry(row) for row in sorted(rows, key=lambda row: row.seq)]


def history_entry(row: Entry) -> HistoryEntry:
    event = json_object(row.event)
    return HistoryEntry(row.seq, row.event_type, row.actor, event.get("time", ""), row.recorded_at, row.leaf_hash, event,
                        row.event, row.signer, row.signature, row.imported)


def custody_chain(reads: Snapshot, entries: list[HistoryEntry]) -> list[dict[str, Any]]:
    """Who held the item, newest first: each holder with the entry and time it took the item."""
    chain: list[dict[str, Any]] = []

    def hold(party: str | None, entry: HistoryEntry) -> None:
        if party is not None and (not chain or chain[-1]["party"] != party):
            chain.append({"party": party, "since": entry.time, "seq": entry.seq, "imported": entry.imported})

    for entry in entries:
        event = entry.event
        if entry.type == "mark_firearm" or entry.type in ("receive", "forfeit"):
            hold(entry.actor, entry)
        elif entry.type in ("mark_specimen", "import"):
            permit = reads.get(Permit, event.get("permit"))
            hold(None if permit is None else (permit.exporter if entry.type == "mark_specimen" else permit.importer), entry)
        elif entry.type == "transfer" and event.get("owner_commitment"):
            hold(PRIVATE_OWNER, entry)
    return chain[::-1]


def inclusion_out(attestation: Attestation) -> list[dict[str, Any]]:
    """The attestation's inclusion proofs as the API shows them: seq and hex hashes, in the order asked."""
    return [{"seq": seq, "proof": [h.hex() for h in path]} for seq, path in attestation.inclusion.items()]
