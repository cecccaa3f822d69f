"""The audit: recompute everything from the raw entries and say what does not hold.

It trusts nothing stored but the entries' raw fields and the log's verifier key given by the
caller: leaf hashes, the hash chain, every stored Merkle node, the root at every checkpoint,
every checkpoint signature and every party signature (with the key history replayed from the
log itself, so an event signed by a key revoked before it is caught too), and the rules time
decides (`ledger.audit.times`: reporting window, each item's order, licences and permits at
the event's time). A checkpoint's time is the one its note signs: a stored created_at that
differs is reported, and checkpoints whose note signs no time are listed, since their time is
only the database's word.

Entries do not store their prev hash: each leaf hash is recomputed over the stored leaf hash of
the entry before, so a broken link shows as a leaf hash that does not match (an entry rewritten
with a fresh leaf hash is reported there, and again at the next entry, whose leaf covers the old one).
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from ledger.audit.reviews import ReviewAudit
from ledger.audit.times import TimeAudit, Timed, timed
from ledger.domain import events as ev
from ledger.domain.rules import REPORTING_WINDOW
from ledger.errors import CheckpointError, LedgerError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, verify_checkpoint
from ledger.log.codec import format_time, parse_time, sha256
from ledger.log.entry import GENESIS_PREV, entry_leaf_hash, key_of
from ledger.log.keys import normalise_address, recover
from ledger.store.ledger import gc_paused
from ledger.store.narrowing import not_null, table_of
from ledger.store.tables import CheckpointRow, Entry, MerkleNode

__all__ = ["Discrepancy", "AuditReport", "audit"]

CHUNK = 2000
PARALLEL_FROM = 20_000  # smaller logs are audited in-process: starting workers costs more than it saves
_KEY_EVENTS = {"register_party", "add_key", "revoke_key"}


@dataclass(frozen=True)
class Discrepancy:
    """One thing that does not hold; `seq` is the first entry it concerns."""

    seq: int
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}"


@dataclass
class AuditReport:
    size: int = 0
    checkpoints: int = 0
    findings: list[Discrepancy] = field(default_factory=list)
    roots: dict[int, bytes] = field(default_factory=dict)  # recomputed root at each size asked for
    unsigned_times: list[int] = field(default_factory=list)  # ids of checkpoints whose note signs no time

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Discrepancy | None:
        return min(self.findings, key=lambda f: f.seq) if self.findings else None


@dataclass
class _Key:
    party: str
    revoked_from: str | None = None


class _KeyHistory:
    """Which address belonged to which party, replayed entry by entry."""

    def __init__(self) -> None:
        self.keys: dict[str, _Key] = {}

    def check(self, signer: str, actor: str | None, time: str | None, recorded_at: str, event: ev.Event | None) -> str | None:
        """Whether `signer` was a live key of `actor` for an event at `time`, recorded at `recorded_at`."""
        if not self.keys and isinstance(event, ev.RegisterParty) and event.party.id == event.actor:
            return None  # genesis: self-registration of the first admin
        key = self.keys.get(signer)
        if key is None:
            return f"signer {signer} was not a registered key"
        if key.party != actor:
            return f"signer {signer} is a key of {key.party}, not of {actor}"
        if key.revoked_from is not None:
            revoked = parse_time(key.revoked_from)
            if parse_time(time or recorded_at) >= revoked or parse_time(recorded_at) >= revoked:
                return f"signer {signer} was revoked from {key.revoked_from}"
        return None

    def learn(self, event: ev.Event) -> None:
        if isinstance(event, ev.RegisterParty):
            for address in event.party.addresses:
                self.keys[normalise_address(address)] = _Key(event.party.id)
        elif isinstance(event, ev.AddKey):
            self.keys[normalise_address(event.address)] = _Key(event.party)
        elif isinstance(event, ev.RevokeKey):
            key = self.keys.get(normalise_address(event.address))
            if key is not None:
                key.revoked_from = event.from_time


def audit(
    session: Session,
    verifier_key: str,
    origin: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    sizes: Iterable[int] = (),
    workers: int | None = None,
    window: timedelta = REPORTING_WINDOW,
) -> AuditReport:
    """Check the whole log; `progress(done, total)` is called after each chunk.

    `window` is the reporting window live (not imported) entries were appended under.

    The per-entry work (hashes, canonical form, signature recovery) runs on `workers` processes
    (default: every core for a large log, none for a small one); the hash chain, key history
    and Merkle tree are followed in order here.

    The report's `roots` holds the root recomputed from the entries' bytes at each of `sizes`
    the log reaches (the chain audit compares them with anchored roots).
    """
    with gc_paused():
        return _audit(session, verifier_key, origin, progress, sizes, workers, window)


def _audit(
    session: Session,
    verifier_key: str,
    origin: str | None,
    progress: Callable[[int, int], None] | None,
    sizes: Iterable[int],
    workers: int | None,
    window: timedelta,
) -> AuditReport:
    total = session.exec(select(func.count()).select_from(Entry)).one()
    checkpoints = list(session.exec(select(CheckpointRow).order_by(col(CheckpointRow.size), col(CheckpointRow.id))))
    report = AuditReport(checkpoints=len(checkpoints))
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    asked = set(sizes)
    wanted_sizes = {row.size for row in checkpoints} | asked
    tree = merkle.CompactRange()  # over the leaf hashes recomputed from the entries' bytes
    keys = _KeyHistory()
    times = TimeAudit(window)
    reviews = ReviewAudit(times.parties, lambda seq: _read_event(session, seq))
    bad_leaves: list[int] = []
    for chunk in _examined_chunks(session, workers if workers is not None else _default_workers(total)):
        computed: dict[tuple[int, int], bytes] = {}
        for seen in chunk:
            if seen.seq != tree.size:
                report.findings.append(Discrepancy(tree.size, f"entry missing: the next stored entry is {seen.seq}"))
                return report
            _check_in_order(seen, keys, times, report)
            if seen.timed is not None:
                report.findings.extend(Discrepancy(seen.seq, problem) for problem in reviews.check(seen.seq, seen.timed))
            if origin is not None and seen.log not in (None, origin):
                report.findings.append(Discrepancy(seen.seq, f"the event is signed for the log {seen.log!r}, not for {origin!r}"))
            if seen.leaf != seen.stored_leaf:
                bad_leaves.append(seen.seq)
            for level, index, node in tree.append(seen.leaf)[1:]:
                computed[(level, index)] = node
            if tree.size in wanted_sizes:
                roots[tree.size] = tree.root()
        _check_nodes(session, computed, bad_leaves, report)
        if progress is not None:
            progress(tree.size, total)
    report.size = tree.size
    report.roots = {size: roots[size] for size in asked if size in roots}
    _check_node_count(session, tree.size, report)
    for row in checkpoints:
        _check_checkpoint(row, roots, verifier_key, origin, report)
    return report


def _read_event(session: Session, seq: int) -> ev.Event | None:
    """Entry `seq`'s event, read back from its stored bytes (the audit checks those bytes in order)."""
    raw = session.execute(select(table_of(Entry).c.event).where(table_of(Entry).c.seq == seq)).scalar_one_or_none()
    return None if raw is None else ev.parse_event(raw)


def _chunks(session: Session) -> Iterator[list[tuple[Any, ...]]]:
    """Entries in order as plain tuples in `_examine`'s order (no ORM objects: the audit only reads),
    each with the stored leaf hash of the row before it: the prev hash its leaf hash must cover."""
    c = table_of(Entry).c
    columns = (c.seq, c.leaf_hash, c.event, c.event_key, c.event_type, c.item_uid, c.actor, c.signer, c.signature, c.recorded_at,
               c.imported)
    start, prev = 0, GENESIS_PREV
    while rows := session.execute(select_columns(*columns).where(c.seq >= start).order_by(c.seq).limit(CHUNK)).all():
        chunk = []
        for row in rows:
            chunk.append((prev, *row))
            prev = row.leaf_hash
        yield chunk
        start = rows[-1].seq + 1


@dataclass(frozen=True)
class _Examined:
    """What one entry says about itself, worked out from its row and the leaf hash stored before it."""

    seq: int
    stored_leaf: bytes
    leaf: bytes  # recomputed from the entry's bytes and the leaf hash before (the stored one when they are malformed)
    problems: tuple[str, ...]
    signer: str | None  # the address the signature recovers to, when it verifies
    actor: str | None
    time: str | None
    recorded_at: str
    key_event: bytes | None  # the event bytes when it changes keys (the key history replays it)
    log: str | None = None  # the origin the event is signed for (none in entries logged before events named it)
    imported: bool = False
    timed: Timed | None = None  # what the time rules judge, when the event is readable


def _examine(row: tuple[Any, ...]) -> _Examined:  # noqa: PLR0912 - one list of independent checks
    prev_hash, seq, stored_leaf, event_bytes, stored_key, event_type, item_uid, actor, signer, signature, recorded_at, imported = row
    problems: list[str] = []
    try:
        leaf = entry_leaf_hash(seq, prev_hash, recorded_at, event_bytes, signer, signature, imported)
    except ValueError as exc:
        return _Examined(seq, stored_leaf, stored_leaf, (f"entry fields are malformed: {exc}",), None, None, None, recorded_at, None)
    if leaf != stored_leaf:
        problems.append("leaf hash does not match the entry's bytes and the previous leaf hash (entry changed or hash chain broken)")
    try:
        event = ev.parse_event(event_bytes)
        if ev.event_bytes(ev.json_object(event_bytes)) != event_bytes:
            problems.append("event bytes are not canonical")
        recovered = recover(event_bytes, signature)
    except LedgerError as exc:
        problems.append(f"event or signature unreadable: {exc}")
        return _Examined(seq, stored_leaf, leaf, tuple(problems), None, None, None, recorded_at, None)
    if recovered != signer:
        problems.append(f"signature does not verify: it recovers to {recovered}, not {signer}")
    if event.type != event_type or event.actor != actor or ev.event_field(event, "item") != item_uid:
        problems.append("indexed columns (type, actor, item) disagree with the event")
    if stored_key != key_of(sha256(event_bytes), event.time):  # a wrong key would let a resend of this event be appended again
        problems.append("event key does not match the event bytes")
    key_event = event_bytes if event.type in _KEY_EVENTS else None
    return _Examined(seq, stored_leaf, leaf, tuple(problems), recovered if recovered == signer else None,
                     event.actor, event.time, recorded_at, key_event, event.origin, imported, timed(event, event_bytes))


def _examine_chunk(rows: list[tuple[Any, ...]]) -> list[_Examined]:
    with gc_paused():
        return [_examine(row) for row in rows]


def _check_in_order(seen: _Examined, keys: _KeyHistory, times: TimeAudit, report: AuditReport) -> None:
    """The checks that need the entries before: who held which key when (the chain is in each leaf hash),
    and the rules time decides."""
    report.findings.extend(Discrepancy(seen.seq, problem) for problem in seen.problems)
    if seen.timed is not None:
        report.findings.extend(Discrepancy(seen.seq, problem) for problem in times.check(seen.timed, seen.recorded_at, seen.imported))
    key_event = ev.parse_event(seen.key_event) if seen.key_event is not None else None
    if seen.signer is not None and (problem := keys.check(seen.signer, seen.actor, seen.time, seen.recorded_at, key_event)) is not None:
        report.findings.append(Discrepancy(seen.seq, problem))
    if key_event is not None:
        keys.learn(key_event)


def _default_workers(total: int) -> int:
    return (os.cpu_count() or 1) if total >= PARALLEL_FROM else 0


def _examined_chunks(session: Session, workers: int) -> Iterator[list[_Examined]]:
    """Examined entries chunk by chunk, in log order; with workers, a few chunks ahead in parallel."""
    chunks = _chunks(session)
    if workers <= 0:
        yield from map(_examine_chunk, chunks)
        return
    with ProcessPoolExecutor(workers) as pool:
        ahead: deque[Future[list[_Examined]]] = deque()
        for chunk in chunks:
            ahead.append(pool.submit(_examine_chunk, chunk))
            if len(ahead) > 2 * workers:  # bounded: the log is never all in memory
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def _check_nodes(
    session: Session, computed: dict[tuple[int, int], bytes], bad_leaves: list[int], report: AuditReport
) -> None:
    """Compare stored nodes with recomputed ones; a node over an already reported bad leaf is not news."""
    if not computed:
        return
    by_level: dict[int, list[int]] = {}
    for level, index in computed:
        by_level.setdefault(level, []).append(index)
    stored: dict[tuple[int, int], bytes] = {}
    for level, indexes in by_level.items():
        rows = session.exec(
            select(MerkleNode.idx, MerkleNode.hash).where(
                and_(col(MerkleNode.level) == level, col(MerkleNode.idx) >= min(indexes), col(MerkleNode.idx) <= max(indexes))
            )
        )
        stored.update(((level, idx), h) for idx, h in rows)
    for (level, index), node in sorted(computed.items(), key=lambda kv: kv[0][1] << kv[0][0]):
        first, last = index << level, ((index + 1) << level) - 1
        have = stored.get((level, index))
        if bisect_left(bad_leaves, first) < len(bad_leaves) and bad_leaves[bisect_left(bad_leaves, first)] <= last:
            continue
        if have is None:
            report.findings.append(Discrepancy(first, f"Merkle node (level {level}, index {index}) over entries {first}-{last} is missing"))
        elif have != node:
            report.findings.append(Discrepancy(first, f"Merkle node (level {level}, index {index}) over entries {first}-{last} does not match"))


def _check_node_count(session: Session, size: int, report: AuditReport) -> None:
    expected = sum(size >> level for level in range(1, size.bit_length() + 1))
    have = session.exec(select(func.count()).select_from(MerkleNode)).one()
    if have != expected:
        report.findings.append(Discrepancy(size, f"{have} Merkle nodes stored where a log of {size} entries has {expected}"))


def _check_checkpoint(
    row: CheckpointRow, roots: dict[int, bytes], verifier_key: str, origin: str | None, report: AuditReport
) -> None:
    where = f"checkpoint #{row.id} (size {row.size})"
    seq = max(row.size - 1, 0)
    try:
        signed = verify_checkpoint(row.note, verifier_key, origin)
    except CheckpointError as exc:
        report.findings.append(Discrepancy(seq, f"{where}: signed note does not verify: {exc}"))
        return
    seq = max(signed.size - 1, 0)  # the signed size names the entry even when the stored size was changed
    if (signed.size, signed.root) != (row.size, row.root):
        report.findings.append(Discrepancy(seq, f"{where}: stored size/root differ from its signed note"))
    root = roots.get(signed.size)
    if root is None:
        report.findings.append(Discrepancy(seq, f"{where}: the log has no {signed.size} entries"))
    elif root != signed.root:
        report.findings.append(Discrepancy(seq, f"{where}: the log's root at size {signed.size} differs from the signed root"))
    _check_signed_time(row, signed, report, where, seq)


def _check_signed_time(row: CheckpointRow, signed: Checkpoint, report: AuditReport, where: str, seq: int) -> None:
    """A checkpoint's time is its signed `time` line; a stored created_at is only a copy of it."""
    if signed.signed_time is None:
        report.unsigned_times.append(not_null(row.id, "checkpoint.id"))
        return
    try:
        stored = parse_time(row.created_at, "created_at")
    except LedgerError:
        stored = None
    if stored != signed.signed_time:
        report.findings.append(Discrepancy(
            seq, f"{where}: stored created_at {row.created_at!r} is not its signed time {format_time(signed.signed_time)}"))
