"""Inclusion and consistency proofs on a log of 10^7 entries, against one indexed row read.

The proof path reads only `entry.leaf_hash` and `merkle_node`, so the log is built fast rather
than signed: entry rows with synthetic leaf hashes (`leaf_hash(seq)`, event key `seq`)
and the Merkle nodes `ledger.log.merkle.CompactRange` completes, bulk-inserted with sqlite3 into a
schema made by the ledger's own migrations. The file is cached under `bench/.cache/` and reused
by later runs (a build that did not finish leaves no `ready` marker and is redone). Every timed
proof is checked with `ledger.log.merkle`'s verifiers against `Ledger.root`, and the stored root
against the one `CompactRange` computed while building.

    python -m bench.proofs [--quick]
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from bench._common import CACHE, ORIGIN, Row, cli, median_seconds, note
from ledger.config import Settings, init_log
from ledger.log import merkle
from ledger.store.ledger import Ledger
from ledger.store.migrate import head_revision

__all__ = ["run", "synthetic_log", "synthetic_settings", "SIZES"]

SIZES = {False: 10**7, True: 10**6}
CHUNK = 100_000
SAMPLES = 200
_ENTRY = ("INSERT INTO entry (seq, leaf_hash, event, event_key, event_type, item_uid, actor, signer, signature, recorded_at)"
          " VALUES (?, ?, x'', ?, 'synthetic', NULL, 'bench', zeroblob(20), ?, '')")
_NODE = "INSERT INTO merkle_node (level, idx, hash) VALUES (?, ?, ?)"

ROOT_LEAVES = 100_000


def synthetic_leaf(seq: int) -> bytes:
    return merkle.leaf_hash(seq.to_bytes(8, "big"))


def _build(path: Path, size: int) -> bytes:
    """Fill the migrated, empty log at `path` with `size` synthetic entries; return the root."""
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000"):
        con.execute(f"PRAGMA {pragma}")
    con.execute("BEGIN")
    tree = merkle.CompactRange()
    began = time.monotonic()
    for start in range(0, size, CHUNK):
        entries, nodes = [], []
        for seq in range(start, min(start + CHUNK, size)):
            leaf = synthetic_leaf(seq)
            entries.append((seq, leaf, seq, seq.to_bytes(65, "big")))  # event key: seq, unique; signature column: 65 bytes
            nodes.extend(tree.append(leaf)[1:])
        con.executemany(_ENTRY, entries)
        con.executemany(_NODE, nodes)
        if start // CHUNK % 10 == 9:
            note(f"  synthetic log: {start + CHUNK:,} of {size:,} entries ({time.monotonic() - began:.0f} s)")
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    return tree.root()


def synthetic_settings(size: int) -> Settings:
    """Where the cached synthetic log of `size` entries lives."""
    folder = CACHE / f"proofs-{size}-schema{head_revision()}"  # rows are written with raw SQL: one build per schema
    return Settings(db_url=f"sqlite:///{folder / 'log.db'}", home=folder / "home", origin=ORIGIN)


def synthetic_log(size: int) -> Ledger:
    """The cached synthetic log of `size` entries, built first if no finished build is cached."""
    settings = synthetic_settings(size)
    folder = settings.home.parent
    ready = folder / "ready.json"
    if not ready.exists():
        note(f"  building the synthetic {size:,}-entry log in {folder} (once; later runs reuse it)")
        (folder / "log.db").unlink(missing_ok=True)
        init_log(settings).db.dispose()
        root = _build(folder / "log.db", size)
        ready.write_text(json.dumps({"size": size, "root": root.hex()}))
    ledger = init_log(settings)
    want = bytes.fromhex(json.loads(ready.read_text())["root"])
    if ledger.size() != size or ledger.root() != want:
        raise AssertionError(f"cached log {folder} does not hold the {size:,} entries and root it was built with: delete it")
    return ledger


def _proof_ms(ledger: Ledger, size: int, rng: random.Random, budget: float) -> tuple[float, float]:
    """Median ms of inclusion and of consistency proofs at `size` (up to `SAMPLES`, or `budget` s), each verified."""
    root = ledger.root(size)
    inclusion: list[float] = []
    consistency: list[float] = []
    stop = time.monotonic() + budget
    while len(inclusion) < SAMPLES and (len(inclusion) < 5 or time.monotonic() < stop):
        seq, old = rng.randrange(size), rng.randrange(1, size + 1)
        began = time.perf_counter()
        proof = ledger.inclusion_proof(seq, size)
        inclusion.append(time.perf_counter() - began)
        began = time.perf_counter()
        steps = ledger.consistency_proof(old, size)
        consistency.append(time.perf_counter() - began)
        merkle.verify_inclusion(synthetic_leaf(seq), seq, size, proof, root)
        merkle.verify_consistency(old, size, ledger.root(old), root, steps)
    return statistics.median(inclusion) * 1000, statistics.median(consistency) * 1000


def _root_ms(leaves: int) -> tuple[float, float]:
    """The time to fold `leaves` leaf hashes into a root (what an auditor or a rebuild does), and to
    make as many SHA-256 calls over 65 bytes as the fold needs, the floor of any implementation."""
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(leaves)]
    node = b"\x01" + bytes(64)
    fold = median_seconds(lambda: merkle.root_from_leaves(hashes), 5)
    floor = median_seconds(lambda: [hashlib.sha256(node).digest() for _ in range(leaves - 1)], 5)
    return fold * 1000, floor * 1000


def run(quick: bool = False) -> dict[str, Any]:
    """Proof times at the full size and as the log grows (10^4 up), against one indexed row read."""
    size = SIZES[quick]
    note(f"proofs: up to {SAMPLES} inclusion and consistency proofs per size, 10^4 to {size:,} entries")
    ledger = synthetic_log(size)
    rng = random.Random(7)
    try:
        growth = {n: _proof_ms(ledger, n, rng, 2.0 if quick else 10.0) for n in (10**k for k in range(4, len(str(size)))) if n <= size}
        probe = rng.randrange(size)
        row_ms = median_seconds(lambda: ledger.entries(probe, probe + 1), SAMPLES) * 1000
    finally:
        ledger.db.dispose()
    inclusion, consistency = growth[size]
    root_ms, hashing_ms = _root_ms(ROOT_LEAVES)
    label = f"10^{len(str(size)) - 1}"
    return {
        "quick": quick, "size": size, "row_read_ms": row_ms,
        "growth": [{"size": n, "inclusion_ms": i, "consistency_ms": c} for n, (i, c) in growth.items()],
        "rows": [
            Row(f"inclusion proof at {label} entries", inclusion, "ms", row_ms, "one indexed row read", "<= 2 ms", inclusion <= 2),
            Row(f"consistency proof at {label} entries", consistency, "ms", row_ms, "one indexed row read", "<= 2 ms", consistency <= 2),
            Row(f"root of {ROOT_LEAVES:,} leaves from scratch", root_ms, "ms", hashing_ms, "as many bare SHA-256 calls", "<= 1,000 ms", root_ms <= 1000),
        ],
    }


if __name__ == "__main__":
    cli("proofs", run)
