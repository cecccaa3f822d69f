"""The ledger store: the one append transaction, Merkle nodes, proofs and checkpoints.

Every write goes through `Ledger.append_batch`: under the append lock it authenticates each
signed event, judges it by the rules, appends the entry (seq, leaf hash covering the previous
one), writes the Merkle nodes it completes and updates the current-state rows, all in one
database transaction. A refused event raises and nothing of its batch is kept; so does one whose
judging fails unexpectedly (EventFailed), and both name the event, so a group commit goes on
without it.
"""

from __future__ import annotations

import asyncio
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
from sqlalchemy import Select, bindparam, func, insert, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from ledger import events as ev
from ledger import merkle
from ledger.checkpoint import Checkpoint, LogKey, sign_checkpoint
from ledger.cosignature import CosignerKey
from ledger.codec import format_time, sha256, utc_now
from ledger.bounded import Bounded
from ledger.db import Database, insert_rows, one_of, values_param, without_waiting
from ledger.entry import GENESIS_PREV, entry_leaf_hash, key_of
from ledger.group_commit import GroupCommit
from ledger.keys import normalise_address, normalise_signature
from ledger.errors import AppendLockBusy, EventFailed, EventInvalid, LedgerError, NotFound, RuleViolation, StoreError
from ledger.personal import check_opening
from ledger.projection import apply
from ledger.rules import REPORTING_WINDOW, check_event, check_reported_in_time, marked_serial
from ledger.recovery import PARALLEL_FROM, Recoveries
from ledger.signatures import authenticate
from ledger.snapshot import Snapshot, rows_of
from ledger.txview import StateCache, TxView
from ledger.tables import ITEM_TABLES, new_row, CheckpointRow, Entry, Item, MerkleNode, Party, Permit, PersonalRecord

__all__ = ["Ledger", "Receipt", "Attestation", "gc_paused"]

_log = logging.getLogger(__name__)

_LOOP_COMMIT_QUIET, _LOOP_COMMIT_DELAY = 0.001, 0.005
"""On SQLite an event loop commits its awaiting appends once none has arrived for a millisecond,
or the oldest has waited 5 ms (`GroupCommit`); a thread never waits."""
_CATCH_UP_MOST = 1000
"""The most entries of another writer's the append cache catches up on (`Ledger._catch_up`)
rather than start again."""
_KEEP_RANGES = 1 << 17
"""The most Merkle range hashes a process keeps (some 200 bytes each). MTH(D[lo:hi]) never changes
once leaves lo..hi-1 are logged, and a stored node (level, index) is one such range. Each scan is
answered with inclusion proofs against the newest checkpoint, which mostly repeat the last scan's:
reading their nodes again and folding them was 15% of a scan server's time (5% kept)."""
_KEEP_NEW_ROWS = 500
"""The most new projection rows a batch keeps in the append cache (`StateCache.new_limit`):
those of a group commit of single appends, not those of a bulk import."""


@dataclass(frozen=True)
class Receipt:
    """What an append returns: where the event now sits in the log."""

    seq: int
    leaf_hash: bytes
    event_hash: bytes  # the full SHA-256 of the event bytes
    duplicate: bool = False  # the same signed event was already in the log


_HEAD = "SELECT seq, leaf_hash FROM entry ORDER BY seq DESC LIMIT 1"  # to the driver as it is: once a group, an ORM statement cost 10x the read
_LATEST_CHECKPOINT = rows_of(CheckpointRow).order_by(CheckpointRow.id.desc()).limit(1)
_NEWEST_ANCHORED = (rows_of(CheckpointRow).where(CheckpointRow.anchor_block.is_not(None))  # type: ignore[union-attr]
                    .order_by(CheckpointRow.size.desc(), CheckpointRow.id.desc()).limit(1))
_NEWEST_ANCHORED_WITHIN = _NEWEST_ANCHORED.where(CheckpointRow.size <= bindparam("size"))
# Checkpoints are read through a `Snapshot` (every group commit's attestation reads two): through an ORM session they cost 0.3 ms.
_INSERT_CHECKPOINT = insert(CheckpointRow.__table__)  # type: ignore[arg-type]
"""A group's checkpoint, inserted without the ORM: its unit of work cost 0.2 ms a group for one row."""
# Statements are built once: building an IN or a comparison anew costs more than running it for a small group.


@dataclass(frozen=True)
class Attestation:
    """A signed checkpoint, inclusion proofs of entries in it, and the newest on-chain anchor it extends."""

    checkpoint: CheckpointRow
    inclusion: dict[int, list[bytes]]
    anchored: CheckpointRow | None
    consistency: list[bytes]  # from anchored.size to checkpoint.size (empty without an anchor)

    def narrowed(self, seqs: Sequence[int]) -> "Attestation":
        """The same attestation proving only `seqs`, in that order (a group's attestation, cut to one waiter's)."""
        wanted = [seq for seq in dict.fromkeys(seqs) if seq in self.inclusion]
        return replace(self, inclusion={seq: self.inclusion[seq] for seq in wanted})


@cache
def _by_event_key(dialect: str) -> Select:
    return select(Entry.seq, Entry.leaf_hash, Entry.event).where(one_of(Entry.event_key, "keys", dialect))


def _raw(reads: Session | Snapshot, sql: str) -> list[Any]:
    """The driver's rows of `sql` (values written into it), through a session's connection or a snapshot's."""
    if isinstance(reads, Snapshot):
        return reads.raw(sql)
    return list(reads.connection().exec_driver_sql(sql).fetchall())


def _leaves(node: tuple[int, int]) -> tuple[int, int]:
    """The leaf range of stored node (level, index)."""
    level, index = node
    return index << level, (index + 1) << level


def _failed_alone(error: Exception, event: ev.Event, index: int) -> EventFailed:
    """`error`, raised judging or applying event `index` of a batch, as that event's own failure:
    logged here with its traceback, so that a group commit fails this event and appends the rest."""
    _log.error("event %d of a batch (%s by %s) failed: %s", index, event.type, event.actor, type(error).__name__, exc_info=error)
    failed = EventFailed(type(error).__name__)
    failed.index = index
    return failed


def _ints(values: set[int]) -> str:
    return ", ".join(str(int(value)) for value in sorted(values))


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


@dataclass(frozen=True)
class _Opened:
    """One envelope of a batch, checked for form before the batch takes the lock's time."""

    envelope: ev.Envelope = None  # type: ignore[assignment]
    signed: bytes = b""
    event_hash: bytes = b""
    event_key: int = 0
    signer: str = ""
    event: ev.Event = None  # type: ignore[assignment]
    error: LedgerError | None = None


class Ledger:
    """One authority's log on one database."""

    def __init__(
        self,
        db: Database,
        origin: str,
        log_key: LogKey | None = None,
        clock: Callable[[], datetime] = utc_now,
        reporting_window: timedelta = REPORTING_WINDOW,
        log_cosigner: CosignerKey | None = None,
    ) -> None:
        self.db = db
        self.origin = origin
        self.log_key = log_key
        self.log_cosigner = log_cosigner  # stamps each served checkpoint's signed time with a cosignature/v1 line
        self.clock = clock
        self.reporting_window = reporting_window  # how long before its recording a live event may be dated
        self._append_mutex = threading.Lock()  # one appending thread per process; the database lock does the rest
        self._append_session: Session | None = None
        self._cache = StateCache(new_limit=_KEEP_NEW_ROWS)
        self._ranges: Bounded[tuple[int, int], bytes] = Bounded(_KEEP_RANGES)
        self._group = GroupCommit(self.append_batch, self.attest, lead_on_loop=db.is_sqlite,
                                  commit_quiet=_LOOP_COMMIT_QUIET, commit_delay=_LOOP_COMMIT_DELAY)

    # ------------------------------------------------------------ sessions

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with Session(self.db.reader, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction holding the append lock: commits on success, rolls back on error.

        Whatever it changes, the append path's cache is dropped afterwards.
        """
        with self._append_mutex:
            try:
                with Session(self.db.writer, expire_on_commit=False, autoflush=False) as session:
                    with session.begin():
                        self.db.lock_for_append(session)
                        yield session
            finally:
                self._forget()

    @contextmanager
    def _appending(self, wait: bool = True) -> Iterator[tuple[Session, TxView]]:
        """The append transaction, on a long-lived session whose loaded rows the cache keeps.

        Without `wait`, a SQLite write lock held by another process raises AppendLockBusy at once.
        """
        with self._append_mutex:
            if self._append_session is None:
                self._append_session = Session(self.db.writer, expire_on_commit=False, autoflush=False)
            session = self._append_session
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
                self._forget()
                raise

    def _forget(self) -> None:
        """Drop every cached row (after a rollback, or a write that bypassed the append path)."""
        self._cache.clear()
        if self._append_session is not None:
            self._append_session.close()
            self._append_session = None

    # ------------------------------------------------------------ appends

    def append(self, envelope: ev.Envelope | dict[str, Any]) -> Receipt:
        """Append one signed event; threads appending at once share a transaction (group commit)."""
        return self._group.append(self._opened(envelope))[0]

    def append_attested(self, envelope: ev.Envelope | dict[str, Any], prove: Sequence[int] = ()) -> tuple[Receipt, Attestation]:
        """Append one signed event and attest it: a checkpoint covering it, the inclusion proofs of
        it and of the entries `prove` names, and the newest anchor.

        Appends at the same time share one transaction and one attestation (group commit).
        """
        receipt, attestation = self._group.append(self._opened(envelope), attest=True, prove=prove)
        if attestation is None:
            return receipt, self.attest([*prove, receipt.seq])
        return receipt, attestation.narrowed([*prove, receipt.seq])

    async def append_attested_async(self, envelope: ev.Envelope | dict[str, Any], prove: Sequence[int] = ()) -> tuple[Receipt, Attestation]:
        """`append_attested` for an event loop: the group's commit thread appends while the caller
        awaits, holding no thread."""
        receipt, attestation = await asyncio.wrap_future(self._group.submit(self._opened(envelope), attest=True, prove=prove))
        if attestation is None:
            return receipt, await asyncio.to_thread(self.attest, [*prove, receipt.seq])
        return receipt, attestation.narrowed([*prove, receipt.seq])

    def append_batch(self, envelopes: Sequence[_Opened | ev.Envelope | dict[str, Any]], checkpoint: bool = False,
                     wait: bool = True) -> list[Receipt]:
        """Append signed events in one transaction (group commit): all of them or none.

        Resending an event already in the log returns its original receipt. The error that
        refuses an event carries its position in the batch as `index`. With `checkpoint`, the
        log key signs a checkpoint of the result in the same transaction. Without `wait`, a SQLite
        write lock held by another process raises AppendLockBusy instead of waiting for it.
        Each event's time must lie within the reporting window before the log's clock.
        """
        with gc_paused():  # the batch's objects are gone before the collector runs again: it finds nothing to scan in them
            return self._append_all(envelopes, checkpoint, wait, imported=False)

    def import_batch(self, envelopes: Sequence[ev.Envelope | dict[str, Any]]) -> list[Receipt]:
        """The authority's import of an earlier registry's history: `append_batch` for events of
        any past time, each entry marked imported in its leaf hash, and a checkpoint signed over them.

        Every other rule holds as for a live event (signatures, licences and permits at the
        event's time, each item's events in time order). Only the holder of the log key imports.
        """
        if self.log_key is None:
            raise StoreError("importing needs the log's key: only the log's authority imports history")
        with gc_paused():
            return self._append_all(envelopes, True, True, imported=True)

    def _append_all(self, envelopes: Sequence[_Opened | ev.Envelope | dict[str, Any]], checkpoint: bool, wait: bool,
                    imported: bool) -> list[Receipt]:
        """Open every envelope, then append them under the lock. Opening needs nothing of the log,
        so it takes no lock; for a large batch the worker processes recover the signers meanwhile
        (`ledger.recovery`)."""
        if len(envelopes) < PARALLEL_FROM:
            return self._append_opened([self._open(index, raw) for index, raw in enumerate(envelopes)], None, checkpoint, wait,
                                       imported)
        with Recoveries() as recoveries:
            parsed = []
            for index, raw in enumerate(envelopes):
                opened = self._open(index, raw)
                parsed.append(opened)
                recoveries.add(opened.signed, None if opened.envelope is None else opened.envelope.signature)
            recoveries.flush()
            return self._append_opened(parsed, recoveries, checkpoint, wait, imported)

    def _append_opened(self, parsed: list[_Opened], recoveries: Recoveries | None, checkpoint: bool,
                       wait: bool = True, imported: bool = False) -> list[Receipt]:
        with self._appending(wait) as (session, view):
            head = self._head(session)
            if not self._cache.valid_for(head) and not self._catch_up(session, head):
                self._cache.clear()
                session.expunge_all()
                self._cache.frontier = merkle.CompactRange(head[0], self._hashes(session, merkle.complete_subtrees(0, head[0])))
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
                    self._check_origin(event)
                    check_reported_in_time(event.time, recorded_at, window)
                    recovered = None if recoveries is None else recoveries.signer(index)
                    actor = authenticate(event, signed, signer, envelope.signature, view, recorded_at, recovered)
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
                insert_rows(session, Entry.__table__, entries)
            if nodes:
                insert_rows(session, MerkleNode.__table__, nodes)
            if checkpoint and self.log_key is not None and entries:
                signed = self._signed_checkpoint(tree.size, tree.root())
                session.execute(_INSERT_CHECKPOINT, {"size": signed.size, "root": signed.root, "note": signed.note,
                                                     "created_at": signed.created_at})
            self._cache.head = (tree.size, prev)
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
        since = _raw(session, f"SELECT seq, leaf_hash, event_type, item_uid FROM entry WHERE seq >= {cached[0] - 1} ORDER BY seq")
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

    def _opened(self, envelope: ev.Envelope | dict[str, Any]) -> _Opened:
        """`envelope` opened before it joins a group commit: a malformed one is refused at once, and
        a group that finds the write lock busy tries again without opening its envelopes again
        (at 1,000 scans/s on two processes a third of the groups did, each opening again costing
        0.6 ms of the event loop's time)."""
        opened = self._open(0, envelope)
        if opened.error is not None:
            opened.error.index = None
            raise opened.error
        return opened

    @staticmethod
    def _open(index: int, raw: _Opened | ev.Envelope | dict[str, Any]) -> _Opened:
        """Validate one envelope and its event; an error is kept, to be raised in batch order.
        An envelope `_opened` already is taken as it is."""
        if isinstance(raw, _Opened):
            return raw
        try:
            envelope = raw if isinstance(raw, ev.Envelope) else ev.Envelope.model_validate(raw)
            signed = ev.event_bytes(envelope.event)
            signer = normalise_address(envelope.signer, "signer")
            digest, event = sha256(signed), ev.parse_event(envelope.event)
            return _Opened(envelope, signed, digest, key_of(digest, event.time), signer, event)
        except ValidationError as exc:
            error: LedgerError = EventInvalid(f"not an envelope: {exc.errors()[0]['msg']}")
        except LedgerError as exc:
            error = exc
        error.index = index
        return _Opened(error=error)

    def _check_origin(self, event: ev.Event) -> None:
        """A new event names this log in its signed bytes: a copy of another log's event is refused."""
        if event.origin != self.origin:
            named = "no log" if event.origin is None else f"the log {event.origin!r}"
            raise RuleViolation("wrong_log", f"the event is signed for {named}, not for this log {self.origin!r}")

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

    @staticmethod
    def _head(reads: Session | Snapshot) -> tuple[int, bytes]:
        """The log's size and last leaf hash (read on every append and proof, so plain SQL)."""
        rows = _raw(reads, _HEAD)
        return (0, GENESIS_PREV) if not rows else (rows[0][0] + 1, rows[0][1])

    # ------------------------------------------------------------ Merkle reads

    @staticmethod
    def _hashes(reads: Session | Snapshot, positions: Sequence[tuple[int, int]]) -> list[bytes]:
        """Hashes of complete subtrees by (level, index), read in one query by primary key.

        Leaves are the entries' leaf hashes (level 0), inner nodes come from `merkle_node`. The
        SQL is written out with the integer positions inlined and goes to the driver as it is:
        building the same OR of index probes as a SQLAlchemy expression (or even compiling it as
        `text`) cost more than running it, and a row-value IN over (level, idx) makes SQLite scan
        the whole table.
        """
        by_level: dict[int, set[int]] = {}
        for level, index in positions:
            by_level.setdefault(int(level), set()).add(int(index))
        parts = []
        if 0 in by_level:
            parts.append(f"SELECT 0, seq, leaf_hash FROM entry WHERE seq IN ({_ints(by_level.pop(0))})")
        if by_level:
            probes = " OR ".join(f"(level = {level} AND idx IN ({_ints(indexes)}))" for level, indexes in by_level.items())
            parts.append(f"SELECT level, idx, hash FROM merkle_node WHERE {probes}")
        rows = _raw(reads, " UNION ALL ".join(parts)) if parts else []
        found = {(lv, ix): h for lv, ix, h in rows}
        missing = [p for p in positions if p not in found]
        if missing:
            raise StoreError(f"Merkle nodes missing from the store: {missing[:5]}")
        return [found[p] for p in positions]

    def _range_hashes(self, reads: Session | Snapshot, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """MTH of each leaf range: kept (`_KEEP_RANGES`), or folded from its complete subtrees read
        in one query. Every caller reads committed leaves only, so what it finds may be kept."""
        hashes = self._ranges.known(ranges)
        todo = [leaves for leaves in dict.fromkeys(ranges) if leaves not in hashes]
        if todo:
            per_range = [merkle.complete_subtrees(lo, hi) for lo, hi in todo]
            leaves_of = {p: _leaves(p) for positions in per_range for p in positions}
            known = self._ranges.known(leaves_of.values())
            nodes = {p: known[leaves] for p, leaves in leaves_of.items() if leaves in known}
            unread = [p for p in leaves_of if p not in nodes]
            nodes.update(zip(unread, self._hashes(reads, unread), strict=True))
            folded = {leaves: merkle.range_root([nodes[p] for p in positions]) for leaves, positions in zip(todo, per_range, strict=True)}
            self._ranges.update({**{leaves_of[p]: nodes[p] for p in unread}, **folded})
            hashes.update(folded)
        return [hashes[leaves] for leaves in ranges]

    def _proofs(self, reads: Session | Snapshot, proofs: Sequence[Sequence[tuple[int, int]]]) -> list[list[bytes]]:
        """Several proofs, each given by its leaf ranges, read together in one query."""
        flat = self._range_hashes(reads, [r for ranges in proofs for r in ranges])
        out, at = [], 0
        for ranges in proofs:
            out.append(flat[at : at + len(ranges)])
            at += len(ranges)
        return out

    def size(self) -> int:
        with self.reading() as session:
            return self._head(session)[0]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` entries (the whole log by default), from O(log n) stored nodes."""
        with self.reading() as session:
            size = self._head(session)[0] if size is None else size
            return self._range_hashes(session, [(0, size)])[0] if size else merkle.EMPTY_ROOT

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        return self.inclusion_proofs([seq], size)[seq]

    def inclusion_proofs(self, seqs: Sequence[int], size: int) -> dict[int, list[bytes]]:
        """Inclusion proofs of several entries in one tree, read from the store in one query."""
        with self.reading() as session:
            self._check_size(session, size)
            for seq in seqs:
                if not 0 <= seq < size:
                    raise merkle.ProofError(f"index is beyond size: {seq} >= {size}")
            return dict(zip(seqs, self._proofs(session, [merkle.inclusion_ranges(seq, size) for seq in seqs]), strict=True))

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        with self.reading() as session:
            self._check_size(session, new_size)
            if not 0 <= old_size <= new_size:
                raise merkle.ProofError(f"old size {old_size} is beyond new size {new_size}")
            return self._range_hashes(session, merkle.consistency_ranges(old_size, new_size))

    def _check_size(self, session: Session, size: int) -> None:
        have = self._head(session)[0]
        if size > have:
            raise merkle.ProofError(f"tree size {size} is beyond the log's size {have}")

    # ------------------------------------------------------------ checkpoints

    def checkpoint(self) -> CheckpointRow:
        """The latest signed checkpoint, signing a new one first if the log has grown."""
        if self.log_key is None:
            raise StoreError("this ledger has no log key: it cannot sign checkpoints")
        with Snapshot(self.db) as reads:
            current = self._current_checkpoint(reads)
        if current is not None:
            return current
        with self._appending() as (session, _):
            size, _ = self._head(session)
            found = session.execute(_LATEST_CHECKPOINT).first()  # again, under the lock: another writer may have signed it
            if found is not None and found.size == size:
                return new_row(CheckpointRow, **found._mapping)
            row = self._signed_checkpoint(size, self._range_hashes(session, [(0, size)])[0] if size else merkle.EMPTY_ROOT)
            session.add(row)
            session.flush()
            return row

    def _signed_checkpoint(self, size: int, root: bytes) -> CheckpointRow:
        assert self.log_key is not None
        signed = Checkpoint.signed_at(self.origin, size, root, self.clock())
        assert signed.signed_time is not None
        note = sign_checkpoint(signed, self.log_key)
        return new_row(CheckpointRow, size=size, root=root, note=note, created_at=format_time(signed.signed_time))

    def _current_checkpoint(self, reads: Snapshot) -> CheckpointRow | None:
        """The latest checkpoint if it covers the whole log, else None."""
        latest = reads.first(CheckpointRow, _LATEST_CHECKPOINT, {})
        return latest if latest is not None and latest.size == self._head(reads)[0] else None

    def latest_checkpoint(self) -> CheckpointRow | None:
        with Snapshot(self.db) as reads:
            return reads.first(CheckpointRow, _LATEST_CHECKPOINT, {})

    def latest_anchored(self, size: int | None = None) -> CheckpointRow | None:
        """The largest checkpoint anchored on chain (at most `size` entries when given)."""
        with Snapshot(self.db) as reads:
            return self._latest_anchored(reads, size)

    @staticmethod
    def _latest_anchored(reads: Snapshot, size: int | None = None) -> CheckpointRow | None:
        if size is None:
            return reads.first(CheckpointRow, _NEWEST_ANCHORED, {})
        return reads.first(CheckpointRow, _NEWEST_ANCHORED_WITHIN, {"size": size})

    def attest(self, seqs: Sequence[int]) -> Attestation:
        """A fresh signed checkpoint with inclusion proofs of `seqs` (those it covers) and its anchor.

        What a receipt or a scan answers with, read in one snapshot and one query for all the
        hashes (the anchor is found by `ix_checkpoint_anchored`, however many checkpoints followed it).
        """
        with Snapshot(self.db) as reads:
            current = self._current_checkpoint(reads)
            if current is not None:
                return self._attest(reads, current, seqs)
        checkpoint = self.checkpoint()
        with Snapshot(self.db) as reads:
            return self._attest(reads, checkpoint, seqs)

    def _attest(self, reads: Snapshot, checkpoint: CheckpointRow, seqs: Sequence[int]) -> Attestation:
        size = checkpoint.size
        anchored = self._latest_anchored(reads, size)
        covered = [seq for seq in dict.fromkeys(seqs) if 0 <= seq < size]
        consistency = merkle.consistency_ranges(anchored.size, size) if anchored is not None else []
        *paths, proof = self._proofs(reads, [*(merkle.inclusion_ranges(seq, size) for seq in covered), consistency])
        return Attestation(checkpoint, dict(zip(covered, paths, strict=True)), anchored, proof)

    def record_anchor(self, checkpoint_id: int, **anchor: Any) -> CheckpointRow:
        """Write where checkpoint `checkpoint_id` was anchored (only its anchor_* columns).

        Keys are the column names without their `anchor_` prefix (tx, block, time, chain_id,
        index). It does not take the append lock: anchoring never waits for, nor holds up, appends.
        """
        unknown = sorted(set(anchor) - {"tx", "block", "time", "chain_id", "index"})
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
        columns = CheckpointRow.__table__.c
        with self.db.writer.begin() as db:
            done = db.execute(update(CheckpointRow.__table__).where(columns.anchor_tx.is_not(None)).values(
                anchor_tx=None, anchor_block=None, anchor_time=None, anchor_chain_id=None, anchor_index=None))
        return done.rowcount

    # ------------------------------------------------------------ reads

    def entries(self, start: int, end: int) -> list[Entry]:
        with self.reading() as session:
            return list(session.exec(select(Entry).where(Entry.seq >= start, Entry.seq < end).order_by(Entry.seq)))

    def item(self, uid: str) -> Item:
        return self._get(Item, uid, "item")

    def party(self, party_id: str) -> Party:
        return self._get(Party, party_id, "party")

    def permit(self, number: str) -> Permit:
        return self._get(Permit, number, "permit")

    def _get(self, table: type, key: object, what: str) -> Any:
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

