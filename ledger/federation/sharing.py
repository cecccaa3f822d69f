"""What this log tells a peer about one of its items: the status answer, cut to the peer's sharing policy.

Always: the item's id, this log's origin, its status, whether it is flagged, when the answer was
made, the kind of item, the tlog-proof of the item's newest entry (index and inclusion proof) with
that entry's leaf hash, and the cosigned checkpoint the proof is in. With `facts` (the peer's
`add_peer --share`): the item's marking facts, and the newest entry's bytes as the proof's `extra`
line, unless that entry carries a field where case numbers or personal data may sit
(`WITHHELD_FIELDS`): then the proof proves the leaf hash only. With `holder_country`: the country
the item is held in. Never the holder's or owner's identity, an owner commitment or a case number.

A peer may also fetch this log's offline trust bundle (`scanner.bundle`), the same for every peer:
in bulk, what status-only sharing tells of any item asked about (the flagged items and their
status, the items held by a transfer never received or by where they left the legal chain, and
how), with the licensed parties and keys a code's signature is checked against and the cosigned
checkpoint; never the fields of `BUNDLE_WITHHELD`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.domain.events import json_object
from ledger.domain.rules import FLAGGED
from ledger.federation.peers import Peer
from ledger.investigation.item_proof import item_proof
from ledger.log import merkle
from ledger.log.codec import format_time
from ledger.log.tlog_proof import TlogProof
from ledger.store.ledger import Ledger

__all__ = ["WITHHELD_FIELDS", "BUNDLE_WITHHELD", "status_answer"]

WITHHELD_FIELDS = frozenset({"case", "owner_commitment", "details", "reason", "personal", "summary"})
"""Event fields that may hold a case number or personal data (free text, a commitment to an owner):
an entry that has one never leaves this log in clear, only its leaf hash does."""


BUNDLE_WITHHELD = frozenset({"pending_to", "diversion_detail"})
"""Held-item fields of the trust bundle a peer's copy leaves out: the party a transfer waits on names
the next holder, and the detail of where an item left the legal chain may quote a seizure's reason."""


def status_answer(ledger: Ledger, uid: str, peer: Peer, now: datetime | None = None) -> dict[str, Any]:
    """The answer to `peer` about item `uid` (NotFound for an item this log does not hold)."""
    item = ledger.item(uid)
    proof = item_proof(ledger, uid)
    assert proof.extra is not None  # item_proof always carries the entry
    leaf = merkle.leaf_hash(proof.extra)
    event = json_object(proof.extra)["event"]
    shown = peer.shares("facts") and not WITHHELD_FIELDS & event.keys()
    answer: dict[str, Any] = {
        "uid": item.uid,
        "origin": ledger.origin,
        "status": item.status,
        "flagged": item.status in FLAGGED,
        "as_of": format_time(now or ledger.clock()),
        "kind": item.kind,
        "proof": (proof if shown else TlogProof(proof.index, proof.proof, proof.note)).text(),
        "leaf_hash": leaf.hex(),
        "checkpoint": proof.note,
    }
    if peer.shares("facts"):
        answer["facts"] = item.facts
    if peer.shares("holder_country"):
        answer["holder_country"] = item.country
    return answer

