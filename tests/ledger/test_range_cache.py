"""Merkle range hashes kept between proofs: proofs stay the reference's while the cache forgets, and a warm one reads little."""

from __future__ import annotations

from collections.abc import Sequence

from ulid import ULID

from ledger.bounded import Bounded
from ledger.log import merkle
from ledger.store.checkpoints import Checkpoints, CheckpointSigner
from ledger.store.ledger import Ledger
from ledger.store.proofs import Proofs, stored_hashes
from ledger.store.reads import Reads
from tests.support import World


def _grow(ledger: Ledger, w: World, count: int) -> None:
    ledger.append_batch([w.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=w.marking()) for _ in range(count)])


def _leaves(ledger: Ledger) -> list[bytes]:
    return [entry.leaf_hash for entry in ledger.entries(0, ledger.size())]


def test_proofs_through_a_cache_that_keeps_forgetting_equal_the_reference(ledger: Ledger) -> None:
    proofs = Proofs(ledger.db, Bounded[tuple[int, int], bytes](5))
    w = World(ledger)
    sizes = []
    for chunk in (3, 1, 13, 8, 40):
        _grow(ledger, w, chunk)
        sizes.append(ledger.size())
        hashes = _leaves(ledger)
        for size in sizes:  # older trees too, after the newer ones' ranges were kept
            for seq in range(0, size, 3):
                assert proofs.inclusion_proof(seq, size) == merkle.inclusion_proof(hashes[:size], seq)
            assert proofs.root(size) == merkle.root_from_leaves(hashes[:size])
            assert proofs.consistency_proof(sizes[0], size) == merkle.consistency_proof(hashes[:size], sizes[0])


def test_a_fresh_attestation_reads_only_the_nodes_the_new_entries_made(ledger: Ledger) -> None:
    """What a scan's answer costs: its proofs against the newest checkpoint mostly repeat the last scan's."""
    w = World(ledger)
    _grow(ledger, w, 300)
    read: list[tuple[int, int]] = []

    def counted(reads: Reads, positions: Sequence[tuple[int, int]]) -> list[bytes]:
        read.extend(positions)
        return stored_hashes(reads, positions)

    assert ledger.log_key is not None
    signer = CheckpointSigner(ledger.origin, ledger.log_key, ledger.clock)
    checkpoints = Checkpoints(ledger.db, signer, Proofs(ledger.db, read_nodes=counted), ledger.writing)
    seqs = [5, 17, 120, 250]
    first = checkpoints.attest(seqs)
    assert len(read) > 20  # a cold cache reads every node of the proofs
    read.clear()
    assert checkpoints.attest(seqs) == first
    assert read == []
    _grow(ledger, w, 1)
    again = checkpoints.attest(seqs)
    size = again.checkpoint.size
    assert 0 < len(read) <= size.bit_length()  # the new right edge of the tree, no more
    hashes = _leaves(ledger)
    assert again.inclusion == {seq: merkle.inclusion_proof(hashes, seq) for seq in seqs}
