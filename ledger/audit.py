"""The audit: recompute everything from the raw entries and say what does not hold.

It trusts nothing stored but the entries' raw fields and the log's verifier key given by the
caller: leaf hashes, the hash chain, every stored Merkle node, the root at every checkpoint,
every checkpoint signature and every party signature (with the key history replayed from the
log itself, so an event signed by a key revoked before it is caught too).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import and_, func
from sqlmodel import Session, select

from ledger import events as ev
from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.codec import parse_time, sha256
from ledger.entry import GENESIS_PREV, entry_leaf_hash
from ledger.errors import CheckpointError, LedgerError
from ledger.keys import normalise_address, recover
from ledger.store import gc_paused
from ledger.tables import CheckpointRow, Entry, MerkleNode

__all__ = ["Finding", "AuditReport", "audit"]

CHUNK = 2000


@dataclass(frozen=True)
class Finding:
    """One thing that does not hold; `seq` is the first entry it concerns."""

    seq: int
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}"


@dataclass
class AuditReport:
    size: int = 0
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)
    roots: dict[int, bytes] = field(default_factory=dict)  # recomputed root at each size asked for

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.seq) if self.findings else None


@dataclass
class _Key:
    party: str
    revoked_from: str | None = None


class _KeyHistory:
    """Which address belonged to which party, replayed entry by entry."""

    def __init__(self) -> None:
        self.keys: dict[str, _Key] = {}

    def check(self, event: ev.Event, signer: str, recorded_at: str) -> str | None:
        if not self.keys and isinstance(event, ev.RegisterParty) and event.party.id == event.actor:
            return None  # genesis: self-registration of the first admin
        key = self.keys.get(signer)
        if key is None:
            return f"signer {signer} was not a registered key"
        if key.party != event.actor:
            return f"signer {signer} is a key of {key.party}, not of {event.actor}"
        if key.revoked_from is not None:
            revoked = parse_time(key.revoked_from)
            if parse_time(event.time) >= revoked or parse_time(recorded_at) >= revoked:
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
) -> AuditReport:
    """Check the whole log; `progress(done, total)` is called after each chunk.

    The report's `roots` holds the root recomputed from the entries' bytes at each of `sizes`
    the log reaches (the chain audit compares them with anchored roots).
    """
    with gc_paused():
        return _audit(session, verifier_key, origin, progress, sizes)


def _audit(
    session: Session,
    verifier_key: str,
    origin: str | None,
    progress: Callable[[int, int], None] | None,
    sizes: Iterable[int],
) -> AuditReport:
    total = session.exec(select(func.count()).select_from(Entry)).one()
    checkpoints = list(session.exec(select(CheckpointRow).order_by(CheckpointRow.size, CheckpointRow.id)))
    report = AuditReport(checkpoints=len(checkpoints))
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    asked = set(sizes)
    wanted_sizes = {row.size for row in checkpoints} | asked
    tree = merkle.CompactRange()  # over the leaf hashes recomputed from the entries' bytes
    keys = _KeyHistory()
    prev = GENESIS_PREV  # the previous entry's stored leaf hash: each link is judged on its own
    bad_leaves: list[int] = []
    for chunk in _chunks(session):
        computed: dict[tuple[int, int], bytes] = {}
        for entry in chunk:
            if entry.seq != tree.size:
                report.findings.append(Finding(tree.size, f"entry missing: the next stored entry is {entry.seq}"))
                return report
            leaf = _check_entry(entry, prev, keys, report)
            if leaf != entry.leaf_hash:
                bad_leaves.append(entry.seq)
            prev = entry.leaf_hash
            for level, index, node in tree.append(leaf)[1:]:
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


def _chunks(session: Session) -> Iterator[list[Entry]]:
    """Entries in order, as plain rows (no ORM objects: the audit only reads them)."""
    table = Entry.__table__
    start = 0
    while True:
        rows = list(session.execute(select(table).where(table.c.seq >= start).order_by(table.c.seq).limit(CHUNK)))
        if not rows:
            return
        yield rows
        start = rows[-1].seq + 1


def _check_entry(entry: Entry, prev: bytes, keys: _KeyHistory, report: AuditReport) -> bytes:
    """Check one entry against the previous stored leaf hash; return its leaf hash recomputed from its bytes."""
    seq = entry.seq
    if entry.prev_hash != prev:
        report.findings.append(Finding(seq, "hash chain broken: prev_hash is not the previous entry's leaf hash"))
    try:
        leaf = entry_leaf_hash(seq, entry.prev_hash, entry.recorded_at, entry.event, entry.signer, entry.signature)
    except ValueError as exc:
        report.findings.append(Finding(seq, f"entry fields are malformed: {exc}"))
        return entry.leaf_hash
    if leaf != entry.leaf_hash:
        report.findings.append(Finding(seq, "leaf hash does not match the entry's bytes"))
    if sha256(entry.event) != entry.event_hash:
        report.findings.append(Finding(seq, "event hash does not match the event bytes"))
    try:
        event = ev.parse_event(entry.event)
        if ev.event_bytes(ev.json_object(entry.event)) != entry.event:
            report.findings.append(Finding(seq, "event bytes are not canonical"))
        signer = recover(entry.event, entry.signature)
    except LedgerError as exc:
        report.findings.append(Finding(seq, f"event or signature unreadable: {exc}"))
        return leaf
    if signer != entry.signer:
        report.findings.append(Finding(seq, f"signature does not verify: it recovers to {signer}, not {entry.signer}"))
    elif (problem := keys.check(event, signer, entry.recorded_at)) is not None:
        report.findings.append(Finding(seq, problem))
    if event.type != entry.event_type or event.actor != entry.actor or getattr(event, "item", None) != entry.item_uid:
        report.findings.append(Finding(seq, "indexed columns (type, actor, item) disagree with the event"))
    keys.learn(event)
    return leaf


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
                and_(MerkleNode.level == level, MerkleNode.idx >= min(indexes), MerkleNode.idx <= max(indexes))
            )
        )
        stored.update(((level, idx), h) for idx, h in rows)
    for (level, index), node in sorted(computed.items(), key=lambda kv: kv[0][1] << kv[0][0]):
        first, last = index << level, ((index + 1) << level) - 1
        have = stored.get((level, index))
        if bisect_left(bad_leaves, first) < len(bad_leaves) and bad_leaves[bisect_left(bad_leaves, first)] <= last:
            continue
        if have is None:
            report.findings.append(Finding(first, f"Merkle node (level {level}, index {index}) over entries {first}-{last} is missing"))
        elif have != node:
            report.findings.append(Finding(first, f"Merkle node (level {level}, index {index}) over entries {first}-{last} does not match"))


def _check_node_count(session: Session, size: int, report: AuditReport) -> None:
    expected = sum(size >> level for level in range(1, size.bit_length() + 1))
    have = session.exec(select(func.count()).select_from(MerkleNode)).one()
    if have != expected:
        report.findings.append(Finding(size, f"{have} Merkle nodes stored where a log of {size} entries has {expected}"))


def _check_checkpoint(
    row: CheckpointRow, roots: dict[int, bytes], verifier_key: str, origin: str | None, report: AuditReport
) -> None:
    where = f"checkpoint #{row.id} (size {row.size})"
    seq = max(row.size - 1, 0)
    try:
        signed = verify_checkpoint(row.note, verifier_key, origin)
    except CheckpointError as exc:
        report.findings.append(Finding(seq, f"{where}: signed note does not verify: {exc}"))
        return
    seq = max(signed.size - 1, 0)  # the signed size names the entry even when the stored size was changed
    if (signed.size, signed.root) != (row.size, row.root):
        report.findings.append(Finding(seq, f"{where}: stored size/root differ from its signed note"))
    root = roots.get(signed.size)
    if root is None:
        report.findings.append(Finding(seq, f"{where}: the log has no {signed.size} entries"))
    elif root != signed.root:
        report.findings.append(Finding(seq, f"{where}: the log's root at size {signed.size} differs from the signed root"))
