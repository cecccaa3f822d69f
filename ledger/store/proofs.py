"""Merkle reads of the stored log: range hashes, their bounded cache, inclusion and consistency proofs, roots.

A leaf is an entry's leaf hash; a complete subtree (level, index) is a row of `merkle_node`,
written by the append that completed it. Any other range's hash is folded from the complete
subtrees that tile it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ledger.bounded import Bounded
from ledger.errors import StoreError
from ledger.log import merkle
from ledger.store.db import Database
from ledger.store.reads import Reads, raw, read_head, reading

__all__ = ["KEEP_RANGES", "NodeReader", "Proofs", "stored_hashes"]

KEEP_RANGES = 1 << 17
"""The most Merkle range hashes a process keeps (some 200 bytes each). MTH(D[lo:hi]) never changes
once leaves lo..hi-1 are logged, and a stored node (level, index) is one such range. Each scan is
answered with inclusion proofs against the newest checkpoint, which mostly repeat the last scan's:
reading their nodes again and folding them was 15% of a scan server's time (5% kept)."""

Position = tuple[int, int]
"""A complete subtree by (level, index)."""
NodeReader = Callable[[Reads, Sequence[Position]], list[bytes]]
"""Reads the hashes of complete subtrees from the store, in the order asked."""


def _ints(values: set[int]) -> str:
    return ", ".join(str(int(value)) for value in sorted(values))


def _leaves(node: Position) -> tuple[int, int]:
    """The leaf range of stored node (level, index)."""
    level, index = node
    return index << level, (index + 1) << level


def stored_hashes(reads: Reads, positions: Sequence[Position]) -> list[bytes]:
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
    rows = raw(reads, " UNION ALL ".join(parts)) if parts else []
    found = {(lv, ix): h for lv, ix, h in rows}
    missing = [p for p in positions if p not in found]
    if missing:
        raise StoreError(f"Merkle nodes missing from the store: {missing[:5]}")
    return [found[p] for p in positions]


class Proofs:
    """Range hashes and proofs of one database's log, keeping the range hashes it read or folded."""

    def __init__(self, db: Database, ranges: Bounded[tuple[int, int], bytes] | None = None,
                 read_nodes: NodeReader = stored_hashes) -> None:
        self.db = db
        self._ranges: Bounded[tuple[int, int], bytes] = Bounded(KEEP_RANGES) if ranges is None else ranges
        self._read_nodes = read_nodes

    def frontier(self, reads: Reads, size: int) -> merkle.CompactRange:
        """The tree of the first `size` leaves as its right frontier, read from the store."""
        return merkle.CompactRange(size, self._read_nodes(reads, merkle.complete_subtrees(0, size)))

    def range_hashes(self, reads: Reads, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """MTH of each leaf range: kept (`KEEP_RANGES`), or folded from its complete subtrees read
        in one query. Every caller reads committed leaves only, so what it finds may be kept."""
        hashes = self._ranges.known(ranges)
        todo = [leaves for leaves in dict.fromkeys(ranges) if leaves not in hashes]
        if todo:
            per_range = [merkle.complete_subtrees(lo, hi) for lo, hi in todo]
            leaves_of = {p: _leaves(p) for positions in per_range for p in positions}
            known = self._ranges.known(leaves_of.values())
            nodes = {p: known[leaves] for p, leaves in leaves_of.items() if leaves in known}
            unread = [p for p in leaves_of if p not in nodes]
            nodes.update(zip(unread, self._read_nodes(reads, unread), strict=True))
            folded = {leaves: merkle.range_root([nodes[p] for p in positions]) for leaves, positions in zip(todo, per_range, strict=True)}
            self._ranges.update({**{leaves_of[p]: nodes[p] for p in unread}, **folded})
            hashes.update(folded)
        return [hashes[leaves] for leaves in ranges]

    def proofs(self, reads: Reads, proofs: Sequence[Sequence[tuple[int, int]]]) -> list[list[bytes]]:
        """Several proofs, each given by its leaf ranges, read together in one query."""
        flat = self.range_hashes(reads, [r for ranges in proofs for r in ranges])
        out, at = [], 0
        for ranges in proofs:
            out.append(flat[at : at + len(ranges)])
            at += len(ranges)
        return out

    def root_of(self, reads: Reads, size: int) -> bytes:
        """MTH of the first `size` leaves."""
        return self.range_hashes(reads, [(0, size)])[0] if size else merkle.EMPTY_ROOT

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` entries (the whole log by default), from O(log n) stored nodes."""
        with reading(self.db) as session:
            return self.root_of(session, read_head(session)[0] if size is None else size)

    def inclusion_proofs(self, seqs: Sequence[int], size: int) -> dict[int, list[bytes]]:
        """Inclusion proofs of several entries in one tree, read from the store in one query."""
        with reading(self.db) as session:
            _check_size(session, size)
            for seq in seqs:
                if not 0 <= seq < size:
                    raise merkle.ProofError(f"index is beyond size: {seq} >= {size}")
            return dict(zip(seqs, self.proofs(session, [merkle.inclusion_ranges(seq, size) for seq in seqs]), strict=True))

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        return self.inclusion_proofs([seq], size)[seq]

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        with reading(self.db) as session:
            _check_size(session, new_size)
            if not 0 <= old_size <= new_size:
                raise merkle.ProofError(f"old size {old_size} is beyond new size {new_size}")
            return self.range_hashes(session, merkle.consistency_ranges(old_size, new_size))


def _check_size(reads: Reads, size: int) -> None:
    have = read_head(reads)[0]
    if size > have:
        raise merkle.ProofError(f"tree size {size} is beyond the log's size {have}")
