"""The offline proof (``tlog-proof``) of an item's newest entry, as `GET /v1/items/{uid}/proof` and
`tracemark proof` hand it out: the entry's bytes, its inclusion proof and a cosigned checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import col, select

from ledger.domain.events import json_object
from ledger.errors import NotFound
from ledger.log.entry import GENESIS_PREV, entry_bytes
from ledger.log.tlog_proof import TlogProof
from ledger.store.ledger import Ledger
from ledger.store.tables import Entry
from ledger.witness.cosigned import best_cosigned

__all__ = ["item_proof", "entry_proof"]

Shows = Callable[[str, dict[str, Any]], bool]
"""Whether the reader may see an entry, from its actor and event (the API's read rights)."""


def item_proof(ledger: Ledger, uid: str, shows: Shows = lambda actor, event: True) -> TlogProof:
    """The proof of the newest entry of item ``uid`` that ``shows`` lets the reader see."""
    ledger.item(uid)  # NotFound for an unknown item
    return _proof(ledger, _newest_shown(ledger, uid, shows))


def entry_proof(ledger: Ledger, seq: int) -> TlogProof:
    """The proof of entry ``seq``, e.g. an inspection this log tells a peer about."""
    found = ledger.entries(seq, seq + 1)
    if not found:
        raise NotFound("entry", str(seq))
    return _proof(ledger, found[0])


def _proof(ledger: Ledger, entry: Entry) -> TlogProof:
    checkpoint, note = best_cosigned(ledger, covering=entry.seq)
    prev = GENESIS_PREV if entry.seq == 0 else ledger.entries(entry.seq - 1, entry.seq)[0].leaf_hash
    extra = entry_bytes(entry.seq, prev, entry.recorded_at, entry.event, entry.signer, entry.signature, entry.imported)
    path = ledger.inclusion_proof(entry.seq, checkpoint.size)
    return TlogProof(entry.seq, tuple(path), note, extra)


def _newest_shown(ledger: Ledger, uid: str, shows: Shows) -> Entry:
    query = select(Entry).where(col(Entry.item_uid) == uid).order_by(col(Entry.seq).desc())
    with ledger.reading() as session:
        for entry in session.exec(query):
            if shows(entry.actor, json_object(entry.event)):
                session.expunge(entry)
                return entry
    raise NotFound("entry of item you may read", uid)
