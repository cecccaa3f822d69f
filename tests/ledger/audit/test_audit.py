"""The audit gives the same answer whether entries are examined in this process or by workers, and
checks that events name the log they are in (entries logged before events named it pass)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

import pytest
from ulid import ULID

from ledger.audit.recompute import audit
from ledger.config import Settings
from ledger.demo import run_demo
from ledger.errors import RuleViolation
from ledger.log.codec import format_time
from ledger.log.entry import entry_leaf_hash
from ledger.store.ledger import Ledger
from tests.support import World, signed_without_origin


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


def _unbound_mark(w: World) -> dict[str, Any]:
    """A marking signed as events were before they named their log."""
    event = {"type": "mark_firearm", "actor": "it-beretta", "time": format_time(w.tick()), "item": str(ULID()), "marking": w.marking()}
    return signed_without_origin(w.parties["it-beretta"].account, event)


def _logged_unchecked(ledger: Ledger, monkeypatch: pytest.MonkeyPatch, envelope: dict[str, Any]) -> None:
    """Append as a log that did not yet check the origin of events."""
    with monkeypatch.context() as unchecked:
        unchecked.setattr("ledger.store.appender.check_origin", lambda event, origin: None)
        ledger.append(envelope)


def test_entries_logged_before_events_named_their_log_still_verify(ledger: Ledger, settings: Settings,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    w = World(ledger)
    _logged_unchecked(ledger, monkeypatch, _unbound_mark(w))
    w.firearm()
    ledger.checkpoint()
    with ledger.reading() as session:
        report = audit(session, settings.verifier_key(), settings.origin)
    assert report.ok, report.first
    with pytest.raises(RuleViolation, match="wrong_log"):  # a new one without an origin is refused
        ledger.append(_unbound_mark(w))


def test_the_audit_names_an_entry_signed_for_another_log(ledger: Ledger, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    w = World(ledger)
    other_log = replace(w.parties["it-beretta"], origin="other.tracemark.local/log")
    foreign = other_log.envelope("mark_firearm", w.tick(), item=str(ULID()), marking=w.marking())
    _logged_unchecked(ledger, monkeypatch, foreign)
    with ledger.reading() as session:
        findings = [str(f) for f in audit(session, settings.verifier_key(), settings.origin).findings]
    assert findings == [f"seq {ledger.size() - 1}: the event is signed for the log 'other.tracemark.local/log', "
                        f"not for 'test.tracemark.local/log'"]
