"""RFC 9162 Merkle tree hashing, proof building and proof verification: pure functions, no I/O.

The log's entries are the leaves of an RFC 9162 (Certificate Transparency v2) Merkle tree, so
any entry can be proven with O(log n) hashes and any two states of the log proven consistent.

Every proof is expressed once, over *ranges* of leaves: ``inclusion_ranges`` and
``consistency_ranges`` name the half-open leaf ranges ``[lo, hi)`` whose subtree hashes
MTH(D[lo:hi]) make up the proof, and ``complete_subtrees`` splits such a range into the
complete, aligned subtrees ``(level, index)`` a store keeps as rows. A caller holding the
leaves in memory (``inclusion_proof``, ``consistency_proof``, ``root_from_leaves``) and a
database holding stored nodes therefore build byte-identical proofs from the same plan.

Verification follows transparency-dev/merkle ``proof/verify.go``: guard clauses first, each
saying what it got and what it wanted, and every refusal is a ``ProofError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

from ledger.errors import LedgerError

__all__ = [
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "HASH_SIZE",
    "EMPTY_ROOT",
    "ProofError",
    "leaf_hash",
    "node_hash",
    "root_from_leaves",
    "inclusion_proof",
    "consistency_proof",
    "verify_inclusion",
    "verify_consistency",
    "inclusion_ranges",
    "consistency_ranges",
    "complete_subtrees",
    "range_root",
    "CompactRange",
]

LEAF_PREFIX = b"\x00"
"""Domain separation for leaves, so a leaf can never be passed off as an inner node."""
NODE_PREFIX = b"\x01"
"""Domain separation for inner nodes."""
HASH_SIZE = 32
"""SHA-256 output size: the length of every leaf hash, node hash, root and proof element."""
EMPTY_ROOT = sha256(b"").digest()
"""MTH of the empty tree (RFC 9162 section 2.1.1)."""


class ProofError(LedgerError):
    """A proof cannot be built for the arguments given, or a proof does not verify."""


# --- hashing -----------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """Hash of one leaf: SHA-256(LEAF_PREFIX || data)."""
    return sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an inner node: SHA-256(NODE_PREFIX || left || right)."""
    return sha256(NODE_PREFIX + left + right).digest()


# --- the proof plans, over leaf ranges -----------------------------------------------------------


def _split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2): where MTH splits D[n]."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProofError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ProofError(f"{name} must not be negative, got {value}")
    return value


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose subtree hashes form the inclusion proof of leaf ``index``, in proof order.

    RFC 9162 section 2.1.3.1 PATH(m, D[n]), unrolled: walk from the root towards the leaf and
    collect the sibling range at every split; the proof lists them bottom-up.
    """
    _check_size("index", index)
    _check_size("size", size)
    if index >= size:
        raise ProofError(f"index is beyond size: {index} >= {size}")
    ranges = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split_point(hi - lo)
        if index < mid:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            lo = mid
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose subtree hashes form the consistency proof old_size -> new_size.

    RFC 9162 section 2.1.4.1 SUBPROOF(m, D[n], b), unrolled. Sizes 0 and equal sizes give
    an empty proof, as the RFC says.
    """
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if old_size > new_size:
        raise ProofError(f"old_size is beyond new_size: {old_size} > {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    ranges = []
    lo, hi = 0, new_size
    m = old_size  # relative to lo
    whole_old_tree = True  # the RFC's flag b: D[lo:hi] is still the old tree itself
    while m != hi - lo:
        k = _split_point(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            m -= k
            whole_old_tree = False
    if not whole_old_tree:
        # The verifier knows the old root; it needs this old subtree only when it is not that root.
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def complete_subtrees(lo: int, hi: int) -> list[tuple[int, int]]:
    """Split ``[lo, hi)`` into complete aligned subtrees ``(level, index)``, left to right.

    Node ``(level, index)`` covers leaves ``[index * 2**level, (index + 1) * 2**level)``.
    Only ranges that are MTH subtrees are accepted, i.e. ``[0, n)`` and every range named by
    ``inclusion_ranges`` / ``consistency_ranges``: ``lo`` is a multiple of a power of two that
    is at least ``hi - lo``. Their decomposition is the binary expansion of ``hi - lo`` with
    strictly descending sizes, which is what lets ``range_root`` fold it into MTH(D[lo:hi]).
    """
    _check_size("lo", lo)
    _check_size("hi", hi)
    if lo > hi:
        raise ProofError(f"range is reversed: lo {lo} > hi {hi}")
    if lo and hi - lo > (lo & -lo):
        raise ProofError(
            f"range [{lo}, {hi}) is not a Merkle subtree: "
            f"size {hi - lo} > alignment {lo & -lo} of lo"
        )
    nodes = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def range_root(hashes_of_complete_subtrees: Sequence[bytes]) -> bytes:
    """MTH of a range from the hashes of its ``complete_subtrees``, left to right.

    A right fold, node_hash(h0, node_hash(h1, ...)), because MTH splits off the largest power of
    two first and the decomposition is binary-descending. An empty range gives ``EMPTY_ROOT``.
    """
    if not hashes_of_complete_subtrees:
        return EMPTY_ROOT
    acc = hashes_of_complete_subtrees[-1]
    for h in reversed(hashes_of_complete_subtrees[:-1]):
        acc = node_hash(h, acc)
    return acc


# --- building proofs from the leaves in memory -------------------------------------------------


def _subtree_hash(leaf_hashes: Sequence[bytes], level: int, index: int) -> bytes:
    """Hash of the complete subtree (level, index), one layer of pairs at a time."""
    layer = list(leaf_hashes[index << level : (index + 1) << level])
    for _ in range(level):
        layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


def _range_hash(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    return range_root([_subtree_hash(leaf_hashes, lv, ix) for lv, ix in complete_subtrees(lo, hi)])


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the whole tree; ``EMPTY_ROOT`` for no leaves."""
    return _range_hash(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf ``index`` in the tree of all ``leaf_hashes``."""
    ranges = inclusion_ranges(index, len(leaf_hashes))
    return [_range_hash(leaf_hashes, lo, hi) for lo, hi in ranges]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """The RFC 9162 consistency proof from the first ``old_size`` leaves to all of them."""
    ranges = consistency_ranges(old_size, len(leaf_hashes))
    return [_range_hash(leaf_hashes, lo, hi) for lo, hi in ranges]


# --- verification --------------------------------------------------------------------------------


def _check_hash(name: str, value: object) -> bytes:
    if not isinstance(value, bytes):
        raise ProofError(f"{name} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} has unexpected size {len(value)}, want {HASH_SIZE}")
    return value


def _check_proof(proof: object, want: int) -> list[bytes]:
    if isinstance(proof, (bytes, str)) or not isinstance(proof, Sequence):
        raise ProofError(f"proof must be a sequence of hashes, got {type(proof).__name__}")
    if len(proof) != want:
        raise ProofError(f"wrong proof size {len(proof)}, want {want}")
    return [_check_hash(f"proof[{i}]", h) for i, h in enumerate(proof)]


def _check_match(what: str, calculated: bytes, expected: bytes) -> None:
    if calculated != expected:
        raise ProofError(
            f"calculated {what} {calculated.hex()} does not match expected {what} {expected.hex()}"
        )


def _decomp_inclusion(index: int, size: int) -> tuple[int, int]:
    """Lengths of the inner part (below where the paths to ``index`` and ``size - 1`` meet)
    and of the border part (left siblings on the right border) of an inclusion proof."""
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        seed = node_hash(h, seed) if (index >> i) & 1 else node_hash(seed, h)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Like ``_chain_inner`` but only the left siblings: the same subtree as it was earlier."""
    for i, h in enumerate(proof):
        if (index >> i) & 1:
            seed = node_hash(h, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Returns None on success; raises ``ProofError`` on any bad input or mismatch.
    """
    _check_size("index", index)
    _check_size("size", size)
    if index >= size:
        raise ProofError(f"index is beyond size: {index} >= {size}")
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    inner, border = _decomp_inclusion(index, size)
    hashes = _check_proof(proof, inner + border)

    calculated = _chain_inner(leaf_hash, hashes[:inner], index)
    calculated = _chain_border_right(calculated, hashes[inner:])
    _check_match("root", calculated, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (new_size, new_root) extends the tree (old_size, old_root).

    Returns None on success; raises ``ProofError`` on any bad input or mismatch. The empty
    tree (whose root must be ``EMPTY_ROOT``) is a prefix of every tree, with an empty proof.
    """
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if old_size > new_size:
        raise ProofError(f"old_size is beyond new_size: {old_size} > {new_size}")
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)

    if old_size == 0:
        _check_proof(proof, 0)
        _check_match("empty tree root", EMPTY_ROOT, old_root)
        if new_size == 0:
            _check_match("empty tree root", EMPTY_ROOT, new_root)
        return
    if old_size == new_size:
        _check_proof(proof, 0)
        _check_match("root", old_root, new_root)
        return

    inner, border = _decomp_inclusion(old_size - 1, new_size)
    shift = (old_size & -old_size).bit_length() - 1  # trailing zeros; shift < inner here
    inner -= shift
    # The proof opens with the hash of the old tree's last complete subtree of size 2**shift,
    # unless the old tree is that very subtree, whose hash the verifier already has.
    old_is_subtree = old_size == 1 << shift
    hashes = _check_proof(proof, (0 if old_is_subtree else 1) + inner + border)
    if old_is_subtree:
        seed, path = old_root, hashes
    else:
        seed, path = hashes[0], hashes[1:]

    mask = (old_size - 1) >> shift  # chain from level ``shift`` upwards
    calculated_old = _chain_inner_right(seed, path[:inner], mask)
    calculated_old = _chain_border_right(calculated_old, path[inner:])
    _check_match("old root", calculated_old, old_root)

    calculated_new = _chain_inner(seed, path[:inner], mask)
    calculated_new = _chain_border_right(calculated_new, path[inner:])
    _check_match("new root", calculated_new, new_root)


# --- appending without rereading the log -------------------------------------------------------


class CompactRange:
    """The frontier of a tree of ``size`` leaves: just enough to append and to give the root.

    The frontier is the hashes of ``complete_subtrees(0, size)``, left to right (one per set bit
    of ``size``). ``append`` returns every node that the new leaf completes, the leaf itself
    included, as ``(level, index, hash)``, so a store can write exactly those rows in the append
    transaction and never reread older entries.

    >>> cr = CompactRange()
    >>> [(lv, ix) for lv, ix, _ in cr.append(leaf_hash(b"a"))]
    [(0, 0)]
    >>> [(lv, ix) for lv, ix, _ in cr.append(leaf_hash(b"b"))]
    [(0, 1), (1, 0)]
    """

    __slots__ = ("_size", "_frontier")

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        _check_size("size", size)
        if len(frontier) != size.bit_count():
            raise ProofError(
                f"frontier of size {size} needs {size.bit_count()} hashes, got {len(frontier)}"
            )
        self._size = size
        self._frontier = [_check_hash(f"frontier[{i}]", h) for i, h in enumerate(frontier)]

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier(self) -> tuple[bytes, ...]:
        return tuple(self._frontier)

    def nodes(self) -> list[tuple[int, int, bytes]]:
        """The frontier as ``(level, index, hash)``, at ``complete_subtrees(0, size)``."""
        positions = complete_subtrees(0, self._size)
        return [(lv, ix, h) for (lv, ix), h in zip(positions, self._frontier, strict=True)]

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the nodes that became complete, bottom-up."""
        node = _check_hash("leaf hash", leaf)
        level, index = 0, self._size
        completed = [(level, index, node)]
        while index & 1:  # a right child: its left sibling is the frontier's last entry
            node = node_hash(self._frontier.pop(), node)
            level, index = level + 1, index >> 1
            completed.append((level, index, node))
        self._frontier.append(node)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the tree so far."""
        return range_root(self._frontier)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"
