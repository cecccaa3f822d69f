"""ledger.log.merkle: conformance vectors, a naive RFC 9162 reference, and tampering properties."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError
from ledger.log.merkle import (
    EMPTY_ROOT,
    LEAF_PREFIX,
    NODE_PREFIX,
    CompactRange,
    ProofError,
    complete_subtrees,
    consistency_proof,
    consistency_ranges,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    range_root,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from tests.conftest import TESTDATA

VECTORS = TESTDATA / "rfc6962"

# Vectors whose expectation we deliberately do not follow, with the reason. Each one is still
# run: it must raise ProofError instead of verifying.
STRICTER_THAN_VECTOR = {
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json": (
        "the roots are 12 bytes ('don't care 2'); Go only compares them, we refuse any root "
        "that is not a 32-byte SHA-256 hash"
    ),
}


def _vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json")) if VECTORS.is_dir() else []


def _vector_id(path: Path) -> str:
    return path.relative_to(VECTORS).as_posix()


def _load(path: Path) -> dict:
    data = json.loads(path.read_text())
    data["proof"] = [base64.b64decode(p) for p in data["proof"] or []]
    return data


def _b64(s: str) -> bytes:
    return base64.b64decode(s)


# --- the naive reference: RFC 9162 section 2.1, transcribed ------------------------------------


def _ref_k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _ref_k(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _ref_k(n)
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _ref_k(n)
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True) if 0 < m < len(d) else []


# --- strategies ---------------------------------------------------------------------------------


@st.composite
def trees(draw, min_size: int = 0, max_size: int = 300) -> list[bytes]:
    """Leaf data of a random tree; entries are distinct, so no two subtrees share a hash."""
    n = draw(st.integers(min_size, max_size))
    salt = draw(st.binary(max_size=8))
    return [b"%d:" % i + salt for i in range(n)]


def _hashes(data: list[bytes]) -> list[bytes]:
    return [leaf_hash(x) for x in data]


def _flip(proof: list[bytes], i: int, bit: int) -> list[bytes]:
    h = bytearray(proof[i])
    h[bit // 8] ^= 1 << (bit % 8)
    return proof[:i] + [bytes(h)] + proof[i + 1 :]


# --- constants and hashing ---------------------------------------------------------------------


def test_constants() -> None:
    assert LEAF_PREFIX == b"\x00"
    assert NODE_PREFIX == b"\x01"
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaves([]) == EMPTY_ROOT
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert issubclass(ProofError, LedgerError)


# --- conformance vectors -----------------------------------------------------------------------


def test_vector_folder_is_there() -> None:
    assert VECTORS.is_dir(), f"conformance vectors missing: {VECTORS}"
    assert len(_vector_files("inclusion")) > 50
    assert len(_vector_files("consistency")) > 50


@pytest.mark.parametrize("path", _vector_files("inclusion"), ids=_vector_id)
def test_inclusion_vector(path: Path) -> None:
    v = _load(path)

    def run() -> None:
        verify_inclusion(
            _b64(v["leafHash"]), v["leafIdx"], v["treeSize"], v["proof"], _b64(v["root"])
        )

    if v["wantErr"] or _vector_id(path) in STRICTER_THAN_VECTOR:
        with pytest.raises(ProofError):
            run()
    else:
        run()


@pytest.mark.parametrize("path", _vector_files("consistency"), ids=_vector_id)
def test_consistency_vector(path: Path) -> None:
    v = _load(path)

    def run() -> None:
        verify_consistency(v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), v["proof"])

    if v["wantErr"] or _vector_id(path) in STRICTER_THAN_VECTOR:
        with pytest.raises(ProofError):
            run()
    else:
        run()


def test_deviations_name_real_vectors() -> None:
    for name in STRICTER_THAN_VECTOR:
        assert not json.loads((VECTORS / name).read_text())["wantErr"], name


# The leaves behind the vectors (transparency-dev/merkle testonly, from CT's merkle_tree_test).
VECTOR_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]


@pytest.mark.parametrize(
    "path",
    [p for p in _vector_files("inclusion") + _vector_files("consistency")
     if p.name == "happy-path.json" and p.parent.name.isdigit()],
    ids=_vector_id,
)
def test_builders_reproduce_happy_path_vectors(path: Path) -> None:
    v = _load(path)
    hashes = _hashes(VECTOR_LEAVES)
    if "leafIdx" in v:
        tree = hashes[: v["treeSize"]]
        assert tree[v["leafIdx"]] == _b64(v["leafHash"])
        assert root_from_leaves(tree) == _b64(v["root"])
        assert inclusion_proof(tree, v["leafIdx"]) == v["proof"]
    else:
        tree = hashes[: v["size2"]]
        assert root_from_leaves(tree[: v["size1"]]) == _b64(v["root1"])
        assert root_from_leaves(tree) == _b64(v["root2"])
        assert consistency_proof(tree, v["size1"]) == v["proof"]


# --- against the naive reference ---------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(trees(), st.data())
def test_matches_reference_and_verifies(data: list[bytes], draw: st.DataObject) -> None:
    hashes = _hashes(data)
    n = len(data)
    root = root_from_leaves(hashes)
    assert root == ref_mth(data)
    if n:
        index = draw.draw(st.integers(0, n - 1), label="index")
        proof = inclusion_proof(hashes, index)
        assert proof == ref_path(index, data)
        verify_inclusion(hashes[index], index, n, proof, root)
    old = draw.draw(st.integers(0, n), label="old_size")
    proof = consistency_proof(hashes, old)
    assert proof == ref_proof(old, data)
    verify_consistency(old, n, root_from_leaves(hashes[:old]), root, proof)


def test_every_proof_of_small_trees() -> None:
    for n in range(0, 40):
        data = [b"leaf %d" % i for i in range(n)]
        hashes = _hashes(data)
        root = root_from_leaves(hashes)
        for i in range(n):
            proof = inclusion_proof(hashes, i)
            assert proof == ref_path(i, data)
            verify_inclusion(hashes[i], i, n, proof, root)
        for m in range(0, n + 1):
            proof = consistency_proof(hashes, m)
            assert proof == ref_proof(m, data)
            verify_consistency(m, n, ref_mth(data[:m]), root, proof)


# --- tampering ---------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(trees(min_size=2), st.data())
def test_flipped_inclusion_proof_bit_is_refused(data: list[bytes], draw: st.DataObject) -> None:
    hashes = _hashes(data)
    index = draw.draw(st.integers(0, len(data) - 1))
    proof = inclusion_proof(hashes, index)
    i = draw.draw(st.integers(0, len(proof) - 1))
    bit = draw.draw(st.integers(0, 255))
    with pytest.raises(ProofError):
        verify_inclusion(hashes[index], index, len(data), _flip(proof, i, bit), root_from_leaves(hashes))


@settings(max_examples=100, deadline=None)
@given(trees(min_size=2), st.data())
def test_flipped_consistency_proof_bit_is_refused(data: list[bytes], draw: st.DataObject) -> None:
    hashes = _hashes(data)
    old = draw.draw(st.integers(1, len(data) - 1))
    proof = consistency_proof(hashes, old)
    i = draw.draw(st.integers(0, len(proof) - 1))
    bit = draw.draw(st.integers(0, 255))
    with pytest.raises(ProofError):
        verify_consistency(
            old, len(data), root_from_leaves(hashes[:old]), root_from_leaves(hashes), _flip(proof, i, bit)
        )


def _inclusion_shape(index: int, size: int) -> tuple[bool, ...]:
    """Which side each proof hash is on: all a verifier derives from (index, size)."""
    return tuple(hi <= index for _, hi in inclusion_ranges(index, size))


@settings(max_examples=150, deadline=None)
@given(trees(min_size=1), st.data())
def test_changed_index_or_size_is_refused(data: list[bytes], draw: st.DataObject) -> None:
    hashes = _hashes(data)
    n = len(data)
    root = root_from_leaves(hashes)
    index = draw.draw(st.integers(0, n - 1))
    proof = inclusion_proof(hashes, index)

    other_index = draw.draw(st.integers(0, 2 * n).filter(lambda j: j != index))
    with pytest.raises(ProofError):
        verify_inclusion(hashes[index], other_index, n, proof, root)

    # A proof does not bind the tree size by itself (the signed checkpoint does): another size
    # with the same path shape, e.g. leaf 0 of size 3 and of size 4, chains identically.
    # Any other size must be refused.
    other_size = draw.draw(st.integers(0, 2 * n + 2).filter(lambda s: s != n))
    if other_size > index and _inclusion_shape(index, other_size) == _inclusion_shape(index, n):
        verify_inclusion(hashes[index], index, other_size, proof, root)
    else:
        with pytest.raises(ProofError):
            verify_inclusion(hashes[index], index, other_size, proof, root)


@settings(max_examples=150, deadline=None)
@given(trees(min_size=2), st.data())
def test_changed_consistency_sizes_are_refused(data: list[bytes], draw: st.DataObject) -> None:
    hashes = _hashes(data)
    n = len(data)
    old = draw.draw(st.integers(1, n - 1))
    old_root, new_root = root_from_leaves(hashes[:old]), root_from_leaves(hashes)
    proof = consistency_proof(hashes, old)
    other_old = draw.draw(st.integers(0, n + 2).filter(lambda m: m != old))
    other_new = draw.draw(st.integers(0, 2 * n + 2))

    # The same caveat as inclusion: sizes that give a proof of the same shape chain identically.
    def shape(m: int, s: int) -> tuple:
        return (m & (m - 1) == 0, tuple(hi <= m for _, hi in consistency_ranges(m, s)))

    with pytest.raises(ProofError):
        verify_consistency(other_old, n, old_root, new_root, proof)
    if other_new != n:
        try:
            verify_consistency(old, other_new, old_root, new_root, proof)
        except ProofError:
            return
        assert shape(old, other_new) == shape(old, n)


@pytest.mark.parametrize(
    "call",
    [
        lambda h: verify_inclusion(h, 0, 0, [], h),
        lambda h: verify_inclusion(h, -1, 2, [h], h),
        lambda h: verify_inclusion(h, 0, 2, [h], None),
        lambda h: verify_inclusion(h.hex(), 0, 2, [h], h),
        lambda h: verify_inclusion(h, 0, 2, h, h),
        lambda h: verify_inclusion(h, 0, 2, [h, h], h),
        lambda h: verify_inclusion(h, 0, 2, [h[:31]], h),
        lambda h: verify_inclusion(h, 0, 2, [None], h),
        lambda h: verify_inclusion(h, True, 2, [h], h),
        lambda h: verify_inclusion(h, 0.0, 2, [h], h),
        lambda h: verify_consistency(2, 1, h, h, []),
        lambda h: verify_consistency(1, 2, h, h, []),
        lambda h: verify_consistency(1, 2, h, h, None),
        lambda h: verify_consistency(1, 2, h, b"", [h]),
        lambda h: verify_consistency("1", 2, h, h, [h]),
        lambda h: verify_consistency(0, 0, h, h, []),
        lambda h: verify_consistency(0, 3, h, h, []),
        lambda h: verify_consistency(0, 3, EMPTY_ROOT, h, [h]),
        lambda h: verify_consistency(3, 3, h, h, [h]),
        lambda h: verify_consistency(3, 4, h, h, [h, h, h, h]),
    ],
)
def test_bad_input_raises_proof_error(call) -> None:
    with pytest.raises(ProofError):
        call(leaf_hash(b"x"))


_junk = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 2**70), st.binary(max_size=40), st.text(max_size=5),
    st.lists(st.binary(min_size=31, max_size=33), max_size=6), st.floats(),
)


@settings(max_examples=300, deadline=None)
@given(_junk, _junk, _junk, _junk, _junk)
def test_verifiers_raise_only_proof_error(a, b, c, d, e) -> None:
    for call in (lambda: verify_inclusion(a, b, c, d, e), lambda: verify_consistency(a, b, c, d, e)):
        try:
            call()
        except ProofError:
            pass


def test_consistency_from_the_empty_tree() -> None:
    hashes = _hashes([b"a", b"b", b"c"])
    verify_consistency(0, 3, EMPTY_ROOT, root_from_leaves(hashes), [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofError, match="empty tree root"):
        verify_consistency(0, 0, hashes[0], hashes[0], [])


def test_guard_messages_say_got_and_want() -> None:
    h = leaf_hash(b"x")
    with pytest.raises(ProofError, match=r"index is beyond size: 5 >= 4"):
        verify_inclusion(h, 5, 4, [], h)
    with pytest.raises(ProofError, match=r"wrong proof size 1, want 2"):
        verify_inclusion(h, 0, 4, [h], h)
    with pytest.raises(ProofError, match=r"unexpected size 3, want 32"):
        verify_inclusion(b"abc", 0, 1, [], h)
    with pytest.raises(ProofError, match=r"index is beyond size: 4 >= 4"):
        inclusion_proof([h] * 4, 4)


# --- ranges and complete subtrees --------------------------------------------------------------


def _check_decomposition(data: list[bytes], lo: int, hi: int) -> None:
    nodes = complete_subtrees(lo, hi)
    pos = lo
    for level, index in nodes:
        assert index << level == pos, (lo, hi, nodes)
        pos += 1 << level
    assert pos == hi
    sizes = [1 << level for level, _ in nodes]
    assert sizes == sorted(set(sizes), reverse=True)  # binary-descending
    subtree_hashes = [ref_mth(data[ix << lv : (ix + 1) << lv]) for lv, ix in nodes]
    assert range_root(subtree_hashes) == ref_mth(data[lo:hi])


def test_complete_subtrees_of_every_proof_range() -> None:
    for n in range(0, 70):
        data = [b"%d" % i for i in range(n)]
        ranges = {(0, n)}
        for i in range(n):
            ranges.update(inclusion_ranges(i, n))
        for m in range(n + 1):
            ranges.update(consistency_ranges(m, n))
        for lo, hi in ranges:
            _check_decomposition(data, lo, hi)


@settings(max_examples=60, deadline=None)
@given(trees(min_size=1), st.data())
def test_complete_subtrees_of_random_proof_ranges(data: list[bytes], draw: st.DataObject) -> None:
    n = len(data)
    i = draw.draw(st.integers(0, n - 1))
    m = draw.draw(st.integers(0, n))
    for lo, hi in [(0, n), *inclusion_ranges(i, n), *consistency_ranges(m, n)]:
        _check_decomposition(data, lo, hi)


def test_complete_subtrees_refuses_ranges_that_are_not_subtrees() -> None:
    assert complete_subtrees(0, 0) == []
    assert complete_subtrees(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert complete_subtrees(8, 13) == [(2, 2), (0, 12)]
    for lo, hi in [(1, 3), (2, 5), (6, 9), (5, 4), (-1, 2)]:
        with pytest.raises(ProofError):
            complete_subtrees(lo, hi)


def test_ranges_are_the_rfc_example() -> None:
    # RFC 9162 section 2.1.5: the tree of 7 leaves a..g.
    assert inclusion_ranges(0, 7) == [(1, 2), (2, 4), (4, 7)]  # b, h, i
    assert inclusion_ranges(3, 7) == [(2, 3), (0, 2), (4, 7)]  # c, g, i
    assert inclusion_ranges(4, 7) == [(5, 6), (6, 7), (0, 4)]  # f, j, k
    assert inclusion_ranges(6, 7) == [(4, 6), (0, 4)]  # i, k
    assert consistency_ranges(3, 7) == [(2, 3), (3, 4), (0, 2), (4, 7)]  # c, d, g, l
    assert consistency_ranges(4, 7) == [(4, 7)]  # l
    assert consistency_ranges(6, 7) == [(4, 6), (6, 7), (0, 4)]  # i, j, k


# --- the compact range -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(trees(max_size=300))
def test_compact_range_tracks_the_root(data: list[bytes]) -> None:
    hashes = _hashes(data)
    cr = CompactRange()
    assert cr.root() == EMPTY_ROOT
    seen: dict[tuple[int, int], bytes] = {}
    for n, h in enumerate(hashes, start=1):
        completed = cr.append(h)
        # Exactly the nodes whose right edge is the new size, each with its true hash.
        assert [(lv, ix) for lv, ix, _ in completed] == [
            (lv, (n >> lv) - 1) for lv in range(n.bit_length()) if n % (1 << lv) == 0
        ]
        for lv, ix, node in completed:
            assert node == ref_mth(data[ix << lv : (ix + 1) << lv])
            assert (lv, ix) not in seen
            seen[(lv, ix)] = node
        assert cr.size == n
        assert cr.root() == root_from_leaves(hashes[:n])
        assert [(lv, ix) for lv, ix, _ in cr.nodes()] == complete_subtrees(0, n)
    # Every node the store would have written exists once; the frontier restarts a range.
    restarted = CompactRange(cr.size, [seen[(lv, ix)] for lv, ix in complete_subtrees(0, cr.size)])
    assert restarted.root() == cr.root()
    extra = leaf_hash(b"one more")
    restarted.append(extra)
    assert restarted.root() == root_from_leaves([*hashes, extra])


def test_compact_range_refuses_a_bad_frontier() -> None:
    h = leaf_hash(b"x")
    with pytest.raises(ProofError, match="needs 2 hashes, got 1"):
        CompactRange(3, [h])
    with pytest.raises(ProofError):
        CompactRange(1, [h[:5]])
    with pytest.raises(ProofError):
        CompactRange(0).append(b"short")


def test_root_from_100k_leaves_agrees_with_the_compact_range_and_its_halves() -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(100_000)]
    root = root_from_leaves(hashes)
    cr = CompactRange()
    for h in hashes:
        cr.append(h)
    assert cr.root() == root
    assert node_hash(root_from_leaves(hashes[:65536]), root_from_leaves(hashes[65536:])) == root
