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

__all__ = ["item_proof"]

Shows = Callable[[str, dict[str, Any]], bool]
"""Whether the reader may see an entry, from its actor and event (the API's read rights)."""


def item_proof(ledger: Ledger, uid: str, shows: Shows = lambda actor, event: True) -> TlogProof:
    """The proof of the newest entry of item ``uid`` that ``shows`` lets the reader see."""
    ledger.item(uid)  # NotFound for an unknown item
    newest = _newest_shown(ledger, uid, shows)
    checkpoint, note = best_cosigned(ledger, covering=newest.seq)
    prev = GENESIS_PREV if newest.seq == 0 else ledger.entries(newest.seq - 1, newest.seq)[0].leaf_hash
    extra = entry_bytes(newest.seq, prev, newest.recorded_at, newest.event, newest.signer, newest.signature, newest.imported)
    path = ledger.inclusion_proof(newest.seq, checkpoint.size)
    return TlogProof(newest.seq, tuple(path), note, extra)


def _newest_shown(ledger: Ledger, uid: str, shows: Shows) -> Entry:
    query = select(Entry).where(col(Entry.item_uid) == uid).order_by(col(Entry.seq).desc())
    with ledger.reading() as session:
        for entry in session.exec(query):
            if shows(entry.actor, json_object(entry.event)):
                session.expunge(entry)
                return entry
    raise NotFound("entry of item you may read", uid)
