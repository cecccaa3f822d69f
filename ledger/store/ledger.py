"""The ledger store: one authority's log on one database, as one object its callers hold.

`Ledger` delegates to its parts: the append transaction and the writer's cache
(`ledger.store.appender`), Merkle range hashes and proofs (`ledger.store.proofs`), signed
checkpoints, their anchors and attestations (`ledger.store.checkpoints`), and the group commit
that shares one append transaction among concurrent appends (`ledger.store.group_commit`).
Reads of projection rows and the erasure of personal data are small enough to stay here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import Session, col, select

from ledger.domain import events as ev
from ledger.domain.rules import REPORTING_WINDOW
from ledger.errors import NotFound, SignatureError
from ledger.log.checkpoint import LogKey
from ledger.log.codec import format_time, utc_now
from ledger.log.cosignature import CosignerKey
from ledger.store.appender import Appender, Envelopes, Receipt, gc_paused
from ledger.store.checkpoints import Attestation, Checkpoints, CheckpointSigner
from ledger.store.db import Database
from ledger.store.group_commit import GroupCommit
from ledger.store.proofs import Proofs
from ledger.store.reads import read_head, reading
from ledger.store.tables import CheckpointRow, Entry, Item, Party, PartyKey, Permit, PersonalRecord
from ledger.store.txview import StateCache

__all__ = ["Ledger", "Receipt", "Attestation", "gc_paused"]

_Row = TypeVar("_Row")

_LOOP_COMMIT_QUIET, _LOOP_COMMIT_DELAY = 0.001, 0.005
"""On SQLite an event loop commits its awaiting appends once none has arrived for a millisecond,
or the oldest has waited 5 ms (`GroupCommit`); a thread never waits."""


class Ledger:
    """One authority's log on one database.

    `cache` (the writer's rows) and `group_commit` (made from the batch append and the attest
    functions, and the ledger's commit options) are the parts a caller may give to watch them.
    """

    def __init__(
        self,
        db: Database,
        origin: str,
        log_key: LogKey | None = None,
        clock: Callable[[], datetime] = utc_now,
        reporting_window: timedelta = REPORTING_WINDOW,
        *,
        cache: StateCache | None = None,
        group_commit: Callable[..., GroupCommit] = GroupCommit,
        log_cosigner: CosignerKey | None = None,
    ) -> None:
        self.db = db
        self.origin = origin
        self.log_key = log_key
        self.log_cosigner = log_cosigner  # stamps each served checkpoint's signed time with a cosignature/v1 line
        self._signer = None if log_key is None else CheckpointSigner(origin, log_key, clock)
        self._proofs = Proofs(db)
        self._appender = Appender(db, origin, self._proofs, self._signer, clock, reporting_window, cache)
        self._checkpoints = Checkpoints(db, self._signer, self._proofs, self._appender.locked)
        self._group = group_commit(self._appender.append_batch, self._checkpoints.attest, lead_on_loop=db.is_sqlite,
                                   commit_quiet=_LOOP_COMMIT_QUIET, commit_delay=_LOOP_COMMIT_DELAY)

    @property
    def clock(self) -> Callable[[], datetime]:
        """The log's clock: it dates entries and checkpoints."""
        return self._appender.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self._appender.clock = clock
        if self._signer is not None:
            self._signer.clock = clock

    def when_appended(self, listener: Callable[[], None]) -> None:
        """Call `listener` (which must return at once) each time this process's appends commit new entries."""
        self._appender.listeners.append(listener)

    @property
    def reporting_window(self) -> timedelta:
        """How long before its recording a live event may be dated."""
        return self._appender.reporting_window

    @reporting_window.setter
    def reporting_window(self, window: timedelta) -> None:
        self._appender.reporting_window = window

    # ------------------------------------------------------------ sessions

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with reading(self.db) as session:
            yield session

    def writing(self) -> AbstractContextManager[Session]:
        """A write transaction holding the append lock: commits on success, rolls back on error.

        Whatever it changes, the append path's cache is dropped afterwards.
        """
        return self._appender.writing()

    def drop_cache(self) -> None:
        """Forget the writer's cached rows, after the store was written other than through this ledger (a migration)."""
        self._appender.forget()

    # ------------------------------------------------------------ appends

    def append(self, envelope: ev.Envelope | dict[str, Any]) -> Receipt:
        """Append one signed event; threads appending at once share a transaction (group commit)."""
        receipt: Receipt = self._group.append(self._appender.opened(envelope))[0]
        return receipt

    def append_attested(self, envelope: ev.Envelope | dict[str, Any], prove: Sequence[int] = ()) -> tuple[Receipt, Attestation]:
        """Append one signed event and attest it: a checkpoint covering it, the inclusion proofs of
        it and of the entries `prove` names, and the newest anchor.

        Appends at the same time share one transaction and one attestation (group commit).
        """
        receipt, attestation = self._group.append(self._appender.opened(envelope), attest=True, prove=prove)
        if attestation is None:
            return receipt, self.attest([*prove, receipt.seq])
        return receipt, attestation.narrowed([*prove, receipt.seq])

    async def append_attested_async(self, envelope: ev.Envelope | dict[str, Any], prove: Sequence[int] = ()) -> tuple[Receipt, Attestation]:
        """`append_attested` for an event loop: the group's commit thread appends while the caller
        awaits, holding no thread."""
        receipt, attestation = await asyncio.wrap_future(self._group.submit(self._appender.opened(envelope), attest=True, prove=prove))
        if attestation is None:
            return receipt, await asyncio.to_thread(self.attest, [*prove, receipt.seq])
        return receipt, attestation.narrowed([*prove, receipt.seq])

    def append_batch(self, envelopes: Envelopes, checkpoint: bool = False, wait: bool = True) -> list[Receipt]:
        """Append signed events in one transaction, all of them or none (`Appender.append_batch`)."""
        return self._appender.append_batch(envelopes, checkpoint, wait)

    def import_batch(self, envelopes: Sequence[ev.Envelope | dict[str, Any]]) -> list[Receipt]:
        """The authority's import of an earlier registry's history (`Appender.import_batch`)."""
        return self._appender.import_batch(envelopes)

    # ------------------------------------------------------------ Merkle reads

    def size(self) -> int:
        with self.reading() as session:
            return read_head(session)[0]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` entries (the whole log by default), from O(log n) stored nodes."""
        return self._proofs.root(size)

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        return self._proofs.inclusion_proof(seq, size)

    def inclusion_proofs(self, seqs: Sequence[int], size: int) -> dict[int, list[bytes]]:
        """Inclusion proofs of several entries in one tree, read from the store in one query."""
        return self._proofs.inclusion_proofs(seqs, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return self._proofs.consistency_proof(old_size, new_size)

    # ------------------------------------------------------------ checkpoints

    def checkpoint(self) -> CheckpointRow:
        """The latest signed checkpoint, signing a new one first if the log has grown."""
        return self._checkpoints.checkpoint()

    def latest_checkpoint(self) -> CheckpointRow | None:
        return self._checkpoints.latest_checkpoint()

    def latest_anchored(self, size: int | None = None) -> CheckpointRow | None:
        """The largest checkpoint anchored on chain (at most `size` entries when given)."""
        return self._checkpoints.latest_anchored(size)

    def attest(self, seqs: Sequence[int]) -> Attestation:
        """A fresh signed checkpoint with inclusion proofs of `seqs` (those it covers) and its anchor."""
        return self._checkpoints.attest(seqs)

    def record_anchor(self, checkpoint_id: int, **anchor: Any) -> CheckpointRow:
        """Write where checkpoint `checkpoint_id` was anchored (`Checkpoints.record_anchor`)."""
        return self._checkpoints.record_anchor(checkpoint_id, **anchor)

    def forget_anchors(self) -> int:
        """Clear every checkpoint's anchor_* columns (the log moved to another contract); how many had any."""
        return self._checkpoints.forget_anchors()

    # ------------------------------------------------------------ reads

    def entries(self, start: int, end: int) -> list[Entry]:
        with self.reading() as session:
            return list(session.exec(select(Entry).where(Entry.seq >= start, Entry.seq < end).order_by(col(Entry.seq))))

    def item(self, uid: str) -> Item:
        return self._get(Item, uid, "item")

    def party(self, party_id: str) -> Party:
        return self._get(Party, party_id, "party")

    def permit(self, number: str) -> Permit:
        return self._get(Permit, number, "permit")

    def key_owner(self, address: str) -> str:
        """The party a registered key belongs to: who a client-side signer acts as."""
        with self.reading() as session:
            key = session.get(PartyKey, address)
        if key is None:
            raise SignatureError(f"{address} is not a registered key", code="unknown_key")
        return key.party_id

    def _get(self, table: type[_Row], key: object, what: str) -> _Row:
        with self.reading() as session:
            row = session.get(table, key)
            if row is None:
                raise NotFound(what, key)
            return row

    def erase_personal(self, commitment: str, reason: str) -> None:
        """Erase an owner's clear data (court order, retention end); every hash and proof stays valid."""
        with self.writing() as session:
            record = session.get(PersonalRecord, commitment)
            if record is None:
                raise NotFound("personal record", commitment)
            record.salt = record.name = record.address = None
            record.erased_at, record.erased_reason = format_time(self.clock()), reason

    def count(self, table: type) -> int:
        with self.reading() as session:
            return session.exec(select(func.count()).select_from(table)).one()
