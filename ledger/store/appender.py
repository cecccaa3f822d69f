"""The append transaction: every write of an event to the log, and the writer's cache of rows.

Every write goes through `Appender.append_batch`: under the append lock it authenticates each
signed event, judges it by the rules, appends the entry (seq, leaf hash covering the previous
one), writes the Merkle nodes it completes and updates the current-state rows, all in one
database transaction. A refused event raises and nothing of its batch is kept; so does one whose
judging fails unexpectedly (EventFailed), and both name the event, so a group commit goes on
without it.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select
from sqlmodel.sql.expression import Select

from ledger.domain import events as ev
from ledger.domain.personal import check_opening
from ledger.domain.rules import check_event, check_reported_in_time, marked_serial
from ledger.errors import AppendLockBusy, EventFailed, EventInvalid, LedgerError, RuleViolation, StoreError
from ledger.log.codec import format_time, sha256
from ledger.log.entry import check_entry_size, entry_leaf_hash, key_of
from ledger.log.keys import normalise_address, normalise_signature
from ledger.log.signatures import authenticate_event
from ledger.store.checkpoints import CheckpointSigner
from ledger.store.db import Database, in_values, insert_rows, values_param, without_waiting
from ledger.store.projection import apply
from ledger.store.proofs import Proofs
from ledger.store.reads import raw, read_head
from ledger.store.recovery import PARALLEL_FROM, Recoveries
from ledger.store.tables import ITEM_TABLES, CheckpointRow, Entry, MerkleNode, PersonalRecord, new_row
from ledger.store.txview import StateCache, TxView

__all__ = ["KEEP_NEW_ROWS", "Appender", "Opened", "Receipt", "check_origin", "gc_paused"]

_log = logging.getLogger(__name__)

_CATCH_UP_MOST = 1000
"""The most entries of another writer's the append cache catches up on (`Appender._catch_up`)
rather than start again."""
KEEP_NEW_ROWS = 500
"""The most new projection rows a batch keeps in the append cache (`StateCache.new_limit`):
those of a group commit of single appends, not those of a bulk import."""
_INSERT_CHECKPOINT = insert(CheckpointRow.__table__)  # type: ignore[attr-defined]
"""A group's checkpoint, inserted without the ORM: its unit of work cost 0.2 ms a group for one row."""
# Statements are built once: building an IN or a comparison anew costs more than running it for a small group.


@dataclass(frozen=True)
class Receipt:
    """What an append returns: where the event now sits in the log."""

    seq: int
    leaf_hash: bytes
    event_hash: bytes  # the full SHA-256 of the event bytes
    duplicate: bool = False  # the same signed event was already in the log


@dataclass(frozen=True)
class Opened:
    """One envelope of a batch, checked for form before the batch takes the lock's time."""

    envelope: ev.Envelope = None  # type: ignore[assignment]
    signed: bytes = b""
    event_hash: bytes = b""
    event_key: int = 0
    signer: str = ""
    event: ev.Event = None  # type: ignore[assignment]
    error: LedgerError | None = None


Envelopes = Sequence[Opened | ev.Envelope | dict[str, Any]]
"""A batch: envelopes as sent, or already `Appender.opened`."""


@cache
def _by_event_key(dialect: str) -> Select[int, bytes, bytes]:
    return select(Entry.seq, Entry.leaf_hash, Entry.event).where(in_values(Entry.event_key, "keys", dialect))


def _failed_alone(error: Exception, event: ev.Event, index: int) -> EventFailed:
    """`error`, raised judging or applying event `index` of a batch, as that event's own failure:
    logged here with its traceback, so that a group commit fails this event and appends the rest."""
    _log.error("event %d of a batch (%s by %s) failed: %s", index, event.type, event.actor, type(error).__name__, exc_info=error)
    failed = EventFailed(type(error).__name__)
    failed.index = index
    return failed


def check_origin(event: ev.Event, origin: str) -> None:
    """A new event names this log (`origin`) in its signed bytes: a copy of another log's event is refused."""
    if event.origin != origin:
        named = "no log" if event.origin is None else f"the log {event.origin!r}"
        raise RuleViolation("wrong_log", f"the event is signed for {named}, not for this log {origin!r}")


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during bulk work (a batch, an audit): it makes a few objects
    per entry and none of them cyclic, yet the collector's passes cost a quarter of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Appender:
    """The one appending writer of a process on one database, and the rows it keeps loaded.

    Its long-lived session and `cache` keep the rows appends read (parties, keys, items) from one
    transaction to the next; any failure, or a write that bypasses the append path, drops them.
    """

    def __init__(self, db: Database, origin: str, proofs: Proofs, signer: CheckpointSigner | None,
                 clock: Callable[[], datetime], reporting_window: timedelta, cache: StateCache | None = None) -> None:
        self.db = db
        self.origin = origin
        self.proofs = proofs
        self.signer = signer
        self.clock = clock
        self.reporting_window = reporting_window  # how long before its recording a live event may be dated
        self._mutex = threading.Lock()  # one appending thread per process; the database lock does the rest
        self._session: Session | None = None
        self._cache = StateCache(new_limit=KEEP_NEW_ROWS) if cache is None else cache
        self.listeners: list[Callable[[], None]] = []
        """Called after each transaction that appended entries has committed: background workers
        (witnessing) wake on it rather than poll. Each must return at once."""

    # ------------------------------------------------------------ transactions

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction holding the append lock: commits on success, rolls back on error.

        Whatever it changes, the append path's cache is dropped afterwards.
        """
        with self._mutex:
            try:
                with Session(self.db.writer, expire_on_commit=False, autoflush=False) as session:
                    with session.begin():
                        self.db.lock_for_append(session)
                        yield session
            finally:
                self.forget()

    @contextmanager
    def locked(self) -> Iterator[Session]:
        """The append transaction for a write that changes no cached row (a checkpoint): the cache holds."""
        with self._transaction() as (session, _):
            yield session

    @contextmanager
    def _transaction(self, wait: bool = True) -> Iterator[tuple[Session, TxView]]:
        """The append transaction, on a long-lived session whose loaded rows the cache keeps.

        Without `wait`, a SQLite write lock held by another process raises AppendLockBusy at once.
        """
        with self._mutex:
            if self._session is None:
                self._session = Session(self.db.writer, expire_on_commit=False, autoflush=False)
            session = self._session
            try:
                with session.begin():
                    if not wait and self.db.is_sqlite:
                        with without_waiting():
                            session.connection()  # begins the transaction: takes the lock, or raises
                    self.db.lock_for_append(session)
                    view = TxView(session, self._cache)
                    yield session, view
                view.committed()
            except AppendLockBusy:
                raise  # nothing was read or written: the cache still holds
            except BaseException:
                self.forget()
                raise

    def forget(self) -> None:
        """Drop every cached row (after a rollback, or a write that bypassed the append path)."""
        self._cache.clear()
        if self._session is not None:
            self._session.close()
            self._session = None

    # ------------------------------------------------------------ appends

    def append_batch(self, envelopes: Envelopes, checkpoint: bool = False, wait: bool = True) -> list[Receipt]:
        """Append signed events in one transaction (group commit): all of them or none.

        Resending an event already in the log returns its original receipt. The error that
        refuses an event carries its position in the batch as `index`. With `checkpoint`, the
        log key signs a checkpoint of the result in the same transaction. Without `wait`, a SQLite
        write lock held by another process raises AppendLockBusy instead of waiting for it.
        Each event's time must lie within the reporting window before the log's clock.
        """
        with gc_paused():  # the batch's objects are gone before the collector runs again: it finds nothing to scan in them
            return self._append_all(envelopes, checkpoint, wait, imported=False)

    def import_batch(self, envelopes: Envelopes) -> list[Receipt]:
        """The authority's import of an earlier registry's history: `append_batch` for events of
        any past time, each entry marked imported in its leaf hash, and a checkpoint signed over them.

        Every other rule holds as for a live event (signatures, licences and permits at the
        event's time, each item's events in time order). Only the holder of the log key imports.
        """
        if self.signer is None:
            raise StoreError("importing needs the log's key: only the log's authority imports history")
        with gc_paused():
            return self._append_all(envelopes, True, True, imported=True)

    def opened(self, envelope: ev.Envelope | dict[str, Any]) -> Opened:
        """`envelope` opened before it joins a group commit: a malformed one is refused at once, and
        a group that finds the write lock busy tries again without opening its envelopes again
        (at 1,000 scans/s on two processes a third of the groups did, each opening again costing
        0.6 ms of the event loop's time)."""
        opened = self._open(0, envelope)
        if opened.error is not None:
            opened.error.index = None
            raise opened.error
        return opened

    def _append_all(self, envelopes: Envelopes, checkpoint: bool, wait: bool, imported: bool) -> list[Receipt]:
        """Open every envelope, then append them under the lock. Opening needs nothing of the log,
        so it takes no lock; for a large batch the worker processes recover the signers meanwhile
        (`ledger.store.recovery`)."""
        if len(envelopes) < PARALLEL_FROM:
            return self._append_opened([self._open(index, sent) for index, sent in enumerate(envelopes)], None, checkpoint, wait,
                                       imported)
        with Recoveries() as recoveries:
            parsed = []
            for index, sent in enumerate(envelopes):
                opened = self._open(index, sent)
                parsed.append(opened)
                recoveries.add(opened.signed, None if opened.envelope is None else opened.envelope.signature)
            recoveries.flush()
            return self._append_opened(parsed, recoveries, checkpoint, wait, imported)

    def _append_opened(self, parsed: list[Opened], recoveries: Recoveries | None, checkpoint: bool,
                       wait: bool = True, imported: bool = False) -> list[Receipt]:
        with self._transaction(wait) as (session, view):
            head = read_head(session)
            if not self._cache.valid_for(head) and not self._catch_up(session, head):
                self._cache.clear()
                session.expunge_all()
                self._cache.frontier = self.proofs.frontier(session, head[0])
            tree = self._cache.frontier
            assert tree is not None  # loaded just above when the cache was stale
            prev = head[1]
            recorded_at = format_time(self.clock())
            window = None if imported else self.reporting_window
            known = self._known(session, {opened.event_hash: opened.event_key for opened in parsed if opened.event is not None})
            view.prefetch_items(
                (uid for opened in parsed if opened.event is not None and (uid := ev.event_field(opened.event, "item")) is not None),
                (marked_serial(opened.event) for opened in parsed if opened.event is not None and opened.event.type.startswith("mark_")),
            )
            receipts: list[Receipt] = []
            entries: list[dict[str, Any]] = []
            nodes: list[dict[str, Any]] = []
            for index, opened in enumerate(parsed):
                if opened.error is not None:
                    raise opened.error
                envelope, signed, event_hash, signer, event = opened.envelope, opened.signed, opened.event_hash, opened.signer, opened.event
                if event_hash in known:  # in the log already, or earlier in this batch
                    receipts.append(replace(known[event_hash], duplicate=True))
                    continue
                seq = tree.size
                try:
                    check_origin(event, self.origin)
                    check_reported_in_time(event.time, recorded_at, window)
                    recovered = None if recoveries is None else recoveries.signer(index)
                    actor = authenticate_event(event, signed, signer, envelope.signature, view, recorded_at, recovered)
                    check_event(event, seq, actor, view)
                    self._keep_personal(event, envelope, seq, view)
                    signature = normalise_signature(envelope.signature)  # one spelling per signature: the log stores its bytes
                    leaf = entry_leaf_hash(seq, prev, recorded_at, signed, signer, signature, imported)
                    row = dict(
                        seq=seq,
                        leaf_hash=leaf,
                        event=signed if recoveries is None else recoveries.prepacked(index),
                        event_key=opened.event_key,
                        event_type=event.type,
                        item_uid=ev.event_field(event, "item"),
                        actor=event.actor,
                        signer=signer,
                        signature=signature,
                        recorded_at=recorded_at,
                        imported=imported,
                    )
                    view.pending_entries[seq] = row
                    apply(event, seq, view)
                except LedgerError as exc:
                    exc.index = index
                    raise
                except SQLAlchemyError:  # the database failed, not this event: the whole batch hears it
                    raise
                except Exception as exc:
                    raise _failed_alone(exc, event, index) from exc
                entries.append(row)
                nodes.extend(dict(level=lv, idx=ix, hash=h) for lv, ix, h in tree.append(leaf)[1:])
                known[event_hash] = receipt = Receipt(seq=seq, leaf_hash=leaf, event_hash=event_hash)
                receipts.append(receipt)
                prev = leaf
            view.write()
            if entries:
                insert_rows(session, Entry.__table__, entries)  # type: ignore[attr-defined]
            if nodes:
                insert_rows(session, MerkleNode.__table__, nodes)  # type: ignore[attr-defined]
            if checkpoint and self.signer is not None and entries:
                signed_row = self.signer.signed(tree.size, tree.root())
                session.execute(_INSERT_CHECKPOINT, {"size": signed_row.size, "root": signed_row.root, "note": signed_row.note,
                                                     "created_at": signed_row.created_at})
            self._cache.head = (tree.size, prev)
        if entries:
            for listener in self.listeners:
                listener()
        return receipts

    def _catch_up(self, session: Session, head: tuple[int, bytes]) -> bool:
        """Bring the append cache from its head to `head` if another writer (a second server
        process) appended only inspections since; False if the cache must start again.

        An inspection changes only its item's rows (`ITEM_TABLES`): those are dropped from the
        cache and the session, to be read again when wanted, and the tree's frontier takes the new
        leaves. Starting again instead cost two processes half a millisecond a group commit, each
        dropping every cached row after every commit of the other's.
        """
        cached, tree = self._cache.head, self._cache.frontier
        if cached is None or tree is None or not 0 < cached[0] < head[0] or head[0] - cached[0] > _CATCH_UP_MOST:
            return False
        since = raw(session, f"SELECT seq, leaf_hash, event_type, item_uid FROM entry WHERE seq >= {cached[0] - 1} ORDER BY seq")
        if [row[0] for row in since] != list(range(cached[0] - 1, head[0])) or bytes(since[0][1]) != cached[1]:
            return False  # not the log this cache was built on (a rebuild, a restore)
        if any(event_type != "inspect" for _, _, event_type, _ in since[1:]):
            return False
        for table, uid in {(table, uid) for *_, uid in since[1:] for table in ITEM_TABLES}:
            self._cache.rows.pop((table, uid), None)
            self._cache.unattached.discard((table, uid))
            row = session.identity_map.get(identity_key(table, uid))  # held by the session even if the cache let it go
            if row is not None:
                session.expunge(row)
        for _, leaf, _, _ in since[1:]:
            tree.append(bytes(leaf))
        self._cache.head = head
        return True

    @staticmethod
    def _open(index: int, sent: Opened | ev.Envelope | dict[str, Any]) -> Opened:
        """Validate one envelope and its event; an error is kept, to be raised in batch order.
        An envelope `opened` already is taken as it is."""
        if isinstance(sent, Opened):
            return sent
        try:
            envelope = sent if isinstance(sent, ev.Envelope) else ev.Envelope.model_validate(sent)
            signed = ev.event_bytes(envelope.event)
            signer = normalise_address(envelope.signer, "signer")
            digest, event = sha256(signed), ev.parse_event(envelope.event)
            check_entry_size(signed, signer, normalise_signature(envelope.signature))
            return Opened(envelope, signed, digest, key_of(digest, event.time), signer, event)
        except ValidationError as exc:
            error: LedgerError = EventInvalid(f"not an envelope: {exc.errors()[0]['msg']}")
        except LedgerError as exc:
            error = exc
        error.index = index
        return Opened(error=error)

    @staticmethod
    def _keep_personal(event: ev.Event, envelope: ev.Envelope, seq: int, view: TxView) -> None:
        commitment = ev.event_field(event, "owner_commitment")
        if commitment is None:
            if envelope.personal is not None:
                raise EventInvalid("personal data given but the event carries no owner_commitment", "personal")
            return
        opening = check_opening(commitment, envelope.personal)
        if view.get(PersonalRecord, commitment) is None:
            view.add(new_row(PersonalRecord, commitment=commitment, recorded_seq=seq, **opening))

    @staticmethod
    def _known(session: Session, keys: dict[bytes, int]) -> dict[bytes, Receipt]:
        """Receipts of events already in the log, by event hash (a resend is answered, never appended twice).

        `keys` maps each new event's SHA-256 to its `event_key`. Rows are found by key and kept
        only when their stored bytes hash the same, so events whose keys collide are both
        appended. The caller holds the append lock (`Database.lock_for_append`) until its insert
        commits, so no other writer can append one of these events between this check and it.
        """
        if not keys:
            return {}
        dialect = session.get_bind().dialect.name
        rows = session.execute(_by_event_key(dialect), {"keys": values_param(set(keys.values()), dialect)})
        stored = ((sha256(event), seq, leaf) for seq, leaf, event in rows)
        return {h: Receipt(seq=seq, leaf_hash=leaf, event_hash=h, duplicate=True) for h, seq, leaf in stored if h in keys}
