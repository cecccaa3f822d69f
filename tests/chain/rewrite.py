"""An operator who rewrites history consistently: the attack only a chain anchor exposes.

`rewrite_entry` changes entry k's event with plain SQL (re-signed by the actor's own key, so
every party signature verifies), recomputes its event key, the leaf hash of k and of every later
entry (each covers the one before), every Merkle node, and re-signs every checkpoint with the
log key. Afterwards the plain audit (`tracemark verify`) passes; the anchors on chain still hold
the old roots.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy
from eth_account.signers.local import LocalAccount

from ledger.domain import events as ev
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, LogKey, parse_checkpoint, sign_checkpoint
from ledger.log.codec import format_time, parse_time
from ledger.log.entry import GENESIS_PREV, entry_leaf_hash, event_key
from ledger.log.keys import sign
from ledger.store.db import open_database
from ledger.store.tables import Entry


def backdate(event: dict[str, Any]) -> dict[str, Any]:
    """The rewrite the tests apply: the event happened one hour earlier than it did."""
    return {**event, "time": format_time(parse_time(event["time"]) - timedelta(hours=1))}


def rewrite_entry(db_url: str, origin: str, log_key: LogKey, seq: int, signer: LocalAccount,
                  change: Callable[[dict[str, Any]], dict[str, Any]] = backdate) -> None:
    """Rewrite entry `seq` as `change` says and make everything stored agree with it again."""
    engine = open_database(db_url).writer
    try:
        with engine.begin() as db:
            entry = Entry.__table__  # typed columns: signer and signature are stored as bytes, hashed as hex text
            rows = db.execute(sqlalchemy.select(entry.c.seq, entry.c.event, entry.c.signer, entry.c.signature, entry.c.recorded_at,
                                                entry.c.imported).order_by(entry.c.seq)).all()
            tree = merkle.CompactRange()
            prev, nodes, roots = GENESIS_PREV, [], {0: merkle.EMPTY_ROOT}
            for row in rows:
                event, signature = bytes(row.event), row.signature
                if row.seq == seq:
                    assert signer.address == row.signer, f"entry {seq} was signed by {row.signer}"
                    event = ev.event_bytes(change(ev.json_object(event)))
                    signature = sign(signer, event)
                leaf = entry_leaf_hash(row.seq, prev, row.recorded_at, event, row.signer, signature, row.imported)
                db.execute(sqlalchemy.update(entry).where(entry.c.seq == row.seq).values(
                    event=event, event_key=event_key(event), signature=signature, leaf_hash=leaf))
                nodes.extend(dict(level=lv, idx=ix, hash=h) for lv, ix, h in tree.append(leaf)[1:])
                roots[tree.size] = tree.root()
                prev = leaf
            db.execute(sqlalchemy.text("DELETE FROM merkle_node"))
            if nodes:
                db.execute(sqlalchemy.text("INSERT INTO merkle_node (level, idx, hash) VALUES (:level, :idx, :hash)"), nodes)
            for cp in db.execute(sqlalchemy.text("SELECT id, size, note FROM checkpoint")).all():
                signed_time = parse_checkpoint(cp.note).extensions  # kept: the rewrite changes no checkpoint's time
                note = sign_checkpoint(Checkpoint(origin, cp.size, roots[cp.size], signed_time), log_key)
                db.execute(sqlalchemy.text("UPDATE checkpoint SET root = :root, note = :note WHERE id = :id"),
                           dict(root=roots[cp.size], note=note, id=cp.id))
    finally:
        engine.dispose()
