"""The benchmark harness: its synthetic proof log, its baselines and its table are right."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import bench.proofs
from bench._common import Row, format_table, save_results
from bench._log import bare_rows, canonical, recover, signed_marks
from ledger.log import merkle
from ledger.log.keys import new_account
from ledger.log.keys import recover as ledger_recover
from ledger.store.migrate import head_revision


def test_synthetic_log_proves_like_ledger_merkle_and_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.proofs, "CACHE", tmp_path)
    size = 1000
    ledger = bench.proofs.synthetic_log(size)
    leaves = [bench.proofs.synthetic_leaf(n) for n in range(size)]
    try:
        assert ledger.root() == merkle.root_from_leaves(leaves)
        rng = random.Random(1)
        for _ in range(20):
            seq, old = rng.randrange(size), rng.randrange(1, size + 1)
            assert ledger.inclusion_proof(seq, size) == merkle.inclusion_proof(leaves, seq)
            assert ledger.consistency_proof(old, size) == merkle.consistency_proof(leaves, old)
        assert [e.seq for e in ledger.entries(5, 7)] == [5, 6]  # the baseline's row read goes through the ORM's column types
        built = (tmp_path / f"proofs-{size}-schema{head_revision()}" / "log.db").stat().st_mtime_ns
    finally:
        ledger.db.dispose()
    bench.proofs.synthetic_log(size).db.dispose()  # second call: the cached file, untouched
    assert (tmp_path / f"proofs-{size}-schema{head_revision()}" / "log.db").stat().st_mtime_ns == built


def test_coincurve_recovery_agrees_with_the_ledger() -> None:
    envelopes = signed_marks(new_account(), 5, "T")
    for message, signer, signature in canonical(envelopes):
        assert recover(message, signature) == ledger_recover(message, signature).lower() == signer.lower()


def test_bare_rows_refuse_a_forged_signature() -> None:
    good, other = signed_marks(new_account(), 2, "F")
    forged = canonical([{**good, "signature": other["signature"]}])
    with pytest.raises(AssertionError, match="does not recover"):
        list(bare_rows(forged, 10))


def test_table_shows_ratio_and_misses() -> None:
    text = format_table([Row("append", 1000, "ev/s", 4000, "bare", ">= 0.5x", False), Row("gas", 79_000, "gas")])
    lines = text.splitlines()
    assert len(lines) == 4
    assert "0.250" in lines[2] and lines[2].rstrip().endswith("NO")
    assert lines[3].rstrip().endswith("-")


def test_results_merge_keeps_other_modules(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"scan": {"per_s": 1}}))
    save_results({"append": {"quick": True, "rows": [Row("append", 10, "ev/s", 20, "bare", ">= 0.5x", True)]}}, path)
    data = json.loads(path.read_text())
    assert data["scan"] == {"per_s": 1}
    assert data["append"]["rows"][0]["ratio"] == 0.5 and data["append"]["rows"][0]["met"] is True
