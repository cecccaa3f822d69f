"""Signed checkpoints of the log: signing, reading and anchoring them, and attestations read against them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session

from ledger.errors import NotFound, StoreError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, LogKey, sign_checkpoint
from ledger.log.codec import format_time
from ledger.store.db import Database
from ledger.store.proofs import Proofs
from ledger.store.reads import read_head
from ledger.store.snapshot import Snapshot, rows_of
from ledger.store.tables import CheckpointRow, new_row

__all__ = ["Attestation", "CheckpointSigner", "Checkpoints"]

_LATEST_CHECKPOINT = rows_of(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)  # type: ignore[union-attr]
_NEWEST_ANCHORED = (rows_of(CheckpointRow).where(CheckpointRow.anchor_block.is_not(None))  # type: ignore[union-attr]
                    .order_by(CheckpointRow.size.desc(), CheckpointRow.id.desc()).limit(1))  # type: ignore[union-attr, attr-defined]
_NEWEST_ANCHORED_WITHIN = _NEWEST_ANCHORED.where(CheckpointRow.size <= bindparam("size"))
# Checkpoints are read through a `Snapshot` (every group commit's attestation reads two): through an ORM session they cost 0.3 ms.
_ANCHOR_FIELDS = frozenset({"tx", "block", "time", "chain_id", "index"})


@dataclass(frozen=True)
class Attestation:
    """A signed checkpoint, inclusion proofs of entries in it, and the newest on-chain anchor it extends."""

    checkpoint: CheckpointRow
    inclusion: dict[int, list[bytes]]
    anchored: CheckpointRow | None
    consistency: list[bytes]  # from anchored.size to checkpoint.size (empty without an anchor)

    def narrowed(self, seqs: Sequence[int]) -> Attestation:
        """The same attestation proving only `seqs`, in that order (a group's attestation, cut to one waiter's)."""
        wanted = [seq for seq in dict.fromkeys(seqs) if seq in self.inclusion]
        return replace(self, inclusion={seq: self.inclusion[seq] for seq in wanted})


class CheckpointSigner:
    """The log's authority signing checkpoints of its log, dated by `clock`."""

    def __init__(self, origin: str, log_key: LogKey, clock: Callable[[], datetime]) -> None:
        self.origin = origin
        self.log_key = log_key
        self.clock = clock

    def signed(self, size: int, root: bytes) -> CheckpointRow:
        """A new checkpoint row (not yet stored) of the tree of `size` leaves and `root`."""
        checkpoint = Checkpoint.signed_at(self.origin, size, root, self.clock())
        assert checkpoint.signed_time is not None
        note = sign_checkpoint(checkpoint, self.log_key)
        return new_row(CheckpointRow, size=size, root=root, note=note, created_at=format_time(checkpoint.signed_time))


class Checkpoints:
    """The checkpoints of one database's log.

    A new checkpoint is signed inside `transaction`, the append transaction (it holds the
    append lock, so no entry is appended between reading the head and storing its checkpoint).
    """

    def __init__(self, db: Database, signer: CheckpointSigner | None, proofs: Proofs,
                 transaction: Callable[[], AbstractContextManager[Session]]) -> None:
        self.db = db
        self.signer = signer
        self.proofs = proofs
        self._transaction = transaction

    def checkpoint(self) -> CheckpointRow:
        """The latest signed checkpoint, signing a new one first if the log has grown."""
        if self.signer is None:
            raise StoreError("this ledger has no log key: it cannot sign checkpoints")
        with Snapshot(self.db) as reads:
            current = self._current(reads)
        if current is not None:
            return current
        with self._transaction() as session:
            size, _ = read_head(session)
            found = session.execute(_LATEST_CHECKPOINT).first()  # again, under the lock: another writer may have signed it
            if found is not None and found.size == size:
                return new_row(CheckpointRow, **found._mapping)
            row = self.signer.signed(size, self.proofs.root_of(session, size))
            session.add(row)
            session.flush()
            return row

    def _current(self, reads: Snapshot) -> CheckpointRow | None:
        """The latest checkpoint if it covers the whole log, else None."""
        latest = reads.first(CheckpointRow, _LATEST_CHECKPOINT, {})
        return latest if latest is not None and latest.size == read_head(reads)[0] else None

    def latest_checkpoint(self) -> CheckpointRow | None:
        with Snapshot(self.db) as reads:
            return reads.first(CheckpointRow, _LATEST_CHECKPOINT, {})

    def latest_anchored(self, size: int | None = None) -> CheckpointRow | None:
        """The largest checkpoint anchored on chain (at most `size` entries when given)."""
        with Snapshot(self.db) as reads:
            return _latest_anchored(reads, size)

    def attest(self, seqs: Sequence[int]) -> Attestation:
        """A fresh signed checkpoint with inclusion proofs of `seqs` (those it covers) and its anchor.

        What a receipt or a scan answers with, read in one snapshot and one query for all the
        hashes (the anchor is found by `ix_checkpoint_anchored`, however many checkpoints followed it).
        """
        with Snapshot(self.db) as reads:
            current = self._current(reads)
            if current is not None:
                return self._attest(reads, current, seqs)
        checkpoint = self.checkpoint()
        with Snapshot(self.db) as reads:
            return self._attest(reads, checkpoint, seqs)

    def _attest(self, reads: Snapshot, checkpoint: CheckpointRow, seqs: Sequence[int]) -> Attestation:
        size = checkpoint.size
        anchored = _latest_anchored(reads, size)
        covered = [seq for seq in dict.fromkeys(seqs) if 0 <= seq < size]
        consistency = merkle.consistency_ranges(anchored.size, size) if anchored is not None else []
        *paths, proof = self.proofs.proofs(reads, [*(merkle.inclusion_ranges(seq, size) for seq in covered), consistency])
        return Attestation(checkpoint, dict(zip(covered, paths, strict=True)), anchored, proof)

    def record_anchor(self, checkpoint_id: int, **anchor: Any) -> CheckpointRow:
        """Write where checkpoint `checkpoint_id` was anchored (only its anchor_* columns).

        Keys are the column names without their `anchor_` prefix (tx, block, time, chain_id,
        index). It does not take the append lock: anchoring never waits for, nor holds up, appends.
        """
        unknown = sorted(set(anchor) - _ANCHOR_FIELDS)
        if unknown:
            raise StoreError(f"not anchor columns: {unknown}")
        with Session(self.db.writer, expire_on_commit=False) as session, session.begin():
            row = session.get(CheckpointRow, checkpoint_id)
            if row is None:
                raise NotFound("checkpoint", checkpoint_id)
            for name, value in anchor.items():
                setattr(row, f"anchor_{name}", value)
            return row

    def forget_anchors(self) -> int:
        """Clear every checkpoint's anchor_* columns (the log moved to another contract); how many had any."""
        table = CheckpointRow.__table__  # type: ignore[attr-defined]
        with self.db.writer.begin() as db:
            done = db.execute(update(table).where(table.c.anchor_tx.is_not(None)).values(
                anchor_tx=None, anchor_block=None, anchor_time=None, anchor_chain_id=None, anchor_index=None))
        return done.rowcount


def _latest_anchored(reads: Snapshot, size: int | None = None) -> CheckpointRow | None:
    if size is None:
        return reads.first(CheckpointRow, _NEWEST_ANCHORED, {})
    return reads.first(CheckpointRow, _NEWEST_ANCHORED_WITHIN, {"size": size})
