"""The audit gives the same answer whether entries are examined in this process or by workers."""

from __future__ import annotations

import sqlite3

from ledger.audit import audit
from ledger.config import Settings
from ledger.demo import run_demo
from ledger.entry import entry_leaf_hash


def _findings(ledger, settings, workers: int) -> list[str]:  # noqa: ANN001
    with ledger.reading() as session:
        return [str(f) for f in audit(session, settings.verifier_key(), settings.origin, workers=workers).findings]


def test_parallel_and_serial_audits_agree_on_a_tampered_log(tmp_path, sqlite_ledger) -> None:  # noqa: ANN001
    run_demo(sqlite_ledger, items=30)
    sqlite_ledger.checkpoint()
    settings = Settings(db_url=sqlite_ledger.db.url, home=tmp_path / "home1", origin=sqlite_ledger.origin)
    assert _findings(sqlite_ledger, settings, workers=0) == _findings(sqlite_ledger, settings, workers=2) == []
    before, rewritten = sqlite_ledger.entries(68, 70)
    forged = rewritten.event.replace(b'"time":"', b'"time":"1', 1)  # and its leaf hash recomputed to match: the chain breaks after it
    leaf = entry_leaf_hash(rewritten.seq, before.leaf_hash, rewritten.recorded_at, forged, rewritten.signer, rewritten.signature,
                           rewritten.imported)
    with sqlite3.connect(sqlite_ledger.db.url.removeprefix("sqlite:///")) as con:
        event = bytearray(con.execute("SELECT event FROM entry WHERE seq = 40").fetchone()[0])
        event[len(event) // 2] ^= 1  # a byte of the stored (packed) form
        con.execute("UPDATE entry SET event = ? WHERE seq = 40", (bytes(event),))
        con.execute("UPDATE entry SET event = ?, leaf_hash = ? WHERE seq = 69", (forged, leaf))
    serial = _findings(sqlite_ledger, settings, workers=0)
    assert serial == _findings(sqlite_ledger, settings, workers=2)
    assert any(line.startswith("seq 40: leaf hash does not match") for line in serial)
    assert any(line.startswith("seq 69: ") for line in serial)
    assert not any(line.startswith("seq 69: leaf hash") for line in serial)
    assert any(line.startswith("seq 70: leaf hash does not match the entry's bytes and the previous leaf hash") for line in serial)
