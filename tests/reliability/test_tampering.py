"""Tampering: every single-byte change to what the log stores is reported with its sequence number.

Each case copies a pristine, anchored demo log (SQLite file), changes one byte of one stored value
(an entry's fields, its signature or signer, a Merkle node, a checkpoint, a checkpoint's record of
its anchor) and runs the audit in process: `ledger.audit.recompute.audit`, which `tracemark verify` runs,
and for anchor records `ledger.audit.chain.verify_chain`, which `tracemark verify --chain` runs
(the chain is the truth: the log's record of an anchor must say what the chain says).
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.audit.chain import verify_chain
from ledger.audit.recompute import audit
from ledger.log import merkle
from ledger.log.checkpoint import verify_checkpoint
from ledger.store.packing import PackError, unpack
from tests.chain.rewrite import rewrite_entry
from tests.reliability.anchored_demo import AnchoredDemo, build, grow

CASES = 1000
GROUPS = {
    "entry": ("entry", "seq", ["event", "leaf_hash", "event_key", "recorded_at", "actor", "event_type", "item_uid"]),
    "signature": ("entry", "seq", ["signature", "signer"]),
    "merkle_node": ("merkle_node", "level, idx", ["hash"]),
    "checkpoint": ("checkpoint", "id", ["note", "root", "size"]),
    "anchor": ("checkpoint", "id", ["anchor_tx", "anchor_block", "anchor_time", "anchor_chain_id", "anchor_index"]),
}
PRINTABLE = [chr(c) for c in range(0x21, 0x7F)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> AnchoredDemo:
    return build(tmp_path_factory.mktemp("anchored"))


@dataclass(frozen=True)
class Change:
    group: str
    table: str
    column: str
    key: tuple
    seq: int  # the sequence number the report must name
    old: object
    new: object

    def __str__(self) -> str:
        return f"{self.table}.{self.column} at {self.key} (seq {self.seq}): {self.old!r:.60} -> {self.new!r:.60}"


def one_byte_changed(value: object, rng: random.Random) -> object:
    """`value` with one byte changed: a byte of a blob, an ASCII character of text, a byte of an integer."""
    if isinstance(value, bytes):
        at = rng.randrange(len(value))
        return value[:at] + bytes([rng.choice([b for b in range(256) if b != value[at]])]) + value[at + 1:]
    if isinstance(value, str):
        at = rng.choice([i for i, c in enumerate(value) if c.isascii()])
        return value[:at] + rng.choice([c for c in PRINTABLE if c != value[at]]) + value[at + 1:]
    assert isinstance(value, int)
    changed = value ^ (rng.randrange(1, 256) << (8 * rng.randrange(max(1, (value.bit_length() + 7) // 8))))
    return (changed + 2**63) % 2**64 - 2**63  # a byte of the 64-bit two's complement integer the database stores


def pick(db: sqlite3.Connection, group: str, rng: random.Random) -> Change:
    table, key_columns, columns = GROUPS[group]
    column = rng.choice(columns)
    rows = db.execute(f"SELECT {key_columns}, {column}, {'size' if table == 'checkpoint' else '0'} FROM {table} "
                      f"WHERE {column} IS NOT NULL").fetchall()
    *key, old, size = rng.choice(rows)
    if table == "entry":
        seq = key[0]
    elif table == "merkle_node":
        seq = key[1] << key[0]  # the first entry under the node
    else:
        seq = size - 1
    return Change(group, table, column, tuple(key), seq, old, one_byte_changed(old, rng))


def apply(path: Path, change: Change) -> None:
    where = {"entry": "seq = ?", "merkle_node": "level = ? AND idx = ?", "checkpoint": "id = ?"}[change.table]
    with sqlite3.connect(path) as db:
        assert db.execute(f"UPDATE {change.table} SET {change.column} = ? WHERE {where}", (change.new, *change.key)).rowcount == 1


def findings(demo: AnchoredDemo, ledger) -> list:  # noqa: ANN001
    with ledger.reading() as session:
        result = verify_chain(ledger, session, demo.settings.verifier_key(), demo.anchors, chain_id=demo.chain_id)
    return result.log.findings + result.records + [f for f in result.findings]


def _same_event(change: Change) -> bool:
    """A change to a packed event's bytes that DEFLATE ignores (the last byte's unused bits)."""
    if (change.table, change.column) != ("entry", "event"):
        return False
    try:
        return unpack(bytes(change.new)) == unpack(bytes(change.old))  # type: ignore[arg-type]
    except PackError:
        return False


def test_the_pristine_log_passes_both_audits(demo: AnchoredDemo, tmp_path: Path):
    ledger = demo.copy(tmp_path / "pristine.db")
    assert len(demo.anchors) == 3
    assert findings(demo, ledger) == []


def test_every_single_byte_change_is_reported_with_its_sequence_number(demo: AnchoredDemo, tmp_path: Path):
    rng = random.Random(8)
    with sqlite3.connect(demo.path) as db:
        changes = [pick(db, group, rng) for group in GROUPS for _ in range(CASES // len(GROUPS))]
    missed, caught, inert = [], Counter(), 0
    work = tmp_path / "work.db"
    for change in changes:
        if _same_event(change):  # a padding bit of the packed form: the event read back is the one signed
            inert += 1
            continue
        ledger = demo.copy(work)
        apply(work, change)
        if change.group == "anchor":
            found = findings(demo, ledger)
        else:  # the plain audit alone catches everything but anchor records
            with ledger.reading() as session:
                found = audit(session, demo.settings.verifier_key(), demo.settings.origin).findings
        ledger.db.dispose()
        if any(getattr(f, "seq", None) == change.seq for f in found):
            caught[change.group] += 1
        else:
            missed.append(f"{change}: {[str(f) for f in found][:3]}")
    assert not missed, f"{len(missed)} of {len(changes)} changes not reported at their seq:\n" + "\n".join(missed[:20])
    assert sum(caught.values()) + inert == CASES and inert <= CASES // 100
    print(f"\ntampering: {CASES} single-byte changes, all reported by seq: {dict(caught)}")


def test_a_fork_is_caught_by_a_kept_checkpoint_and_by_the_chain(demo: AnchoredDemo, tmp_path: Path):
    """The operator shows party A the honest log and party B a rewritten one, each with valid signed checkpoints."""
    honest, forked = demo.copy(tmp_path / "honest.db"), demo.copy(tmp_path / "forked.db")
    vkey, origin = demo.settings.verifier_key(), demo.settings.origin
    kept_by_a = verify_checkpoint(honest.latest_checkpoint().note, vkey, origin)
    victim = 40
    actor = forked.entries(victim, victim + 1)[0].actor
    rewrite_entry(forked.db.url, origin, forked.log_key, victim, demo.result.parties[actor].account)
    with forked.reading() as session:
        assert audit(session, vkey, origin).ok  # on its own, the forked log is flawless
    kept_by_b = verify_checkpoint(forked.latest_checkpoint().note, vkey, origin)
    assert kept_by_a.size == kept_by_b.size and kept_by_a.root != kept_by_b.root
    grow(honest, demo.result, "HONEST", 3)
    grow(forked, demo.result, "FORKED", 3)

    def consistent(kept, log) -> None:  # noqa: ANN001 - what a party does with a newer checkpoint of the log
        newer = verify_checkpoint(log.checkpoint().note, vkey, origin)
        merkle.verify_consistency(kept.size, newer.size, kept.root, newer.root, log.consistency_proof(kept.size, newer.size))

    consistent(kept_by_a, honest)  # each party's own view stays consistent ...
    consistent(kept_by_b, forked)
    for kept, other in ((kept_by_a, forked), (kept_by_b, honest)):  # ... and the other history is caught
        with pytest.raises(merkle.ProofError):
            consistent(kept, other)

    with forked.reading() as session:
        result = verify_chain(forked, session, vkey, demo.anchors, chain_id=demo.chain_id)
    assert result.log.ok and not result.ok
    assert {f.anchor.index for f in result.findings} == {0, 1, 2}
    assert "was rewritten" in result.first.what
