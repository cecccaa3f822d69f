"""An item's story from the log: its entries, the chain of custodians, and their proofs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from ledger.events import json_object
from ledger.store import Ledger
from ledger.tables import CheckpointRow, Entry, Permit

__all__ = ["HistoryEntry", "item_entries", "custody_chain", "proofs", "PRIVATE_OWNER"]

PRIVATE_OWNER = "private owner"


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    type: str
    actor: str
    time: str
    recorded_at: str
    leaf_hash: bytes
    event: dict[str, Any]


def item_entries(session: Session, uid: str, limit: int | None = None) -> list[HistoryEntry]:
    """The item's entries in log order (the newest `limit` of them when given)."""
    query = select(Entry).where(Entry.item_uid == uid).order_by(Entry.seq.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = list(session.exec(query))[::-1]
    out = []
    for row in rows:
        event = json_object(row.event)
        out.append(HistoryEntry(row.seq, row.event_type, row.actor, event.get("time", ""), row.recorded_at, row.leaf_hash, event))
    return out


def custody_chain(session: Session, entries: list[HistoryEntry]) -> list[dict[str, Any]]:
    """Who held the item, newest first: each holder with the entry and time it took the item."""
    chain: list[dict[str, Any]] = []

    def hold(party: str | None, entry: HistoryEntry) -> None:
        if party is not None and (not chain or chain[-1]["party"] != party):
            chain.append({"party": party, "since": entry.time, "seq": entry.seq})

    for entry in entries:
        event = entry.event
        if entry.type == "mark_firearm" or entry.type in ("receive", "forfeit"):
            hold(entry.actor, entry)
        elif entry.type in ("mark_specimen", "import"):
            permit = session.get(Permit, event.get("permit"))
            hold(None if permit is None else (permit.exporter if entry.type == "mark_specimen" else permit.importer), entry)
        elif entry.type == "transfer" and event.get("owner_commitment"):
            hold(PRIVATE_OWNER, entry)
    return chain[::-1]


def proofs(ledger: Ledger, seqs: list[int]) -> tuple[CheckpointRow, list[dict[str, Any]]]:
    """Inclusion proofs of entries `seqs` against a fresh signed checkpoint that covers them all."""
    checkpoint = ledger.checkpoint()
    paths = ledger.inclusion_proofs([seq for seq in seqs if seq < checkpoint.size], checkpoint.size)
    return checkpoint, [{"seq": seq, "proof": [h.hex() for h in path]} for seq, path in paths.items()]
