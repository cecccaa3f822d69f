"""Migrations move a populated log both ways without changing a hashed byte.

0006 stores signatures as bytes; 0007 drops `entry.prev_hash` and replaces the unique
`entry.event_hash` by an 8-byte `event_key`, which 0009 orders by the event's time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.util import pyfiles
from sqlalchemy import text
from sqlmodel import SQLModel
from ulid import ULID

from ledger.audit.recompute import audit
from ledger.config import Settings
from ledger.log.codec import sha256
from ledger.log.entry import GENESIS_PREV, event_key
from ledger.store.ledger import Ledger
from ledger.store.migrate import alembic_config, upgrade
from ledger.store.tables import Entry
from tests.support import World


def _migrate(ledger: Ledger, revision: str) -> None:
    with ledger.db.writer.connect() as connection:
        if revision == "head":
            command.upgrade(alembic_config(connection), revision)
        else:
            command.downgrade(alembic_config(connection), revision)
        connection.commit()
    ledger.drop_cache()  # the append path's cache describes the old tables


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Migrations copy entries 3 at a time, so a small log crosses many chunk boundaries."""
    load = pyfiles.load_module_py

    def loaded(module_id: str, path: str | Path) -> ModuleType:
        module = load(module_id, path)
        if hasattr(module, "_CHUNK"):
            module._CHUNK = 3
        return module

    monkeypatch.setattr(pyfiles, "load_module_py", loaded)
    yield


def _raw_signatures(ledger: Ledger) -> list[tuple[object, object]]:
    with ledger.db.writer.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT signer, signature FROM entry ORDER BY seq"))]


def _audit_ok(ledger: Ledger, settings: Settings) -> int:
    with ledger.reading() as session:
        report = audit(session, settings.verifier_key(), settings.origin)
    assert report.ok, report.first
    return report.size


def test_signatures_move_to_bytes_and_back_with_every_hash_intact(ledger: Ledger, settings: Settings) -> None:
    world = World(ledger)
    uid = world.firearm()
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    entries = [(e.seq, e.signer, e.signature, e.leaf_hash) for e in ledger.entries(0, ledger.size())]
    size = _audit_ok(ledger, settings)

    stored = _raw_signatures(ledger)
    assert all(isinstance(signer, bytes) and len(signer) == 20 and len(signature) == 65 for signer, signature in stored)

    _migrate(ledger, "0005")
    assert _raw_signatures(ledger) == [(signer, signature) for _, signer, signature, _ in entries]  # the text the log hashed

    _migrate(ledger, "head")
    with ledger.db.writer.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    assert _raw_signatures(ledger) == stored
    assert [(e.seq, e.signer, e.signature, e.leaf_hash) for e in ledger.entries(0, ledger.size())] == entries
    assert _audit_ok(ledger, settings) == size
    world.ship(uid, "de-jagd-schmidt", "it-beretta")  # and the log goes on
    assert _audit_ok(ledger, settings) == size + 2


def test_a_log_with_a_signature_spelled_otherwise_is_refused_whole(ledger: Ledger) -> None:
    world = World(ledger)
    world.firearm()
    _migrate(ledger, "0005")
    with ledger.db.writer.begin() as connection:
        connection.execute(text("UPDATE entry SET signature = upper(signature) WHERE seq = 3"))
    before = _raw_signatures(ledger)
    with pytest.raises(RuntimeError, match="entry 3"):
        upgrade(ledger.db)
    assert _raw_signatures(ledger) == before


def test_upper_case_signatures_are_stored_in_the_one_spelling(ledger: Ledger, settings: Settings) -> None:
    world = World(ledger)
    envelope = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    envelope["signature"] = "0x" + envelope["signature"][2:].upper()
    receipt = ledger.append(envelope)
    with ledger.reading() as session:
        entry = session.get(Entry, receipt.seq)
    assert entry is not None and entry.signature == envelope["signature"].lower()
    _audit_ok(ledger, settings)


def _entries(ledger: Ledger) -> list[tuple[int, bytes, bytes, int]]:
    return [(e.seq, e.leaf_hash, e.event, e.event_key) for e in ledger.entries(0, ledger.size())]


def _rows_0006(ledger: Ledger) -> list[tuple[object, ...]]:
    with ledger.db.writer.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT seq, prev_hash, leaf_hash, event, event_hash FROM entry ORDER BY seq"))]


def _as_0006_stored_them(entries: list[tuple[int, bytes, bytes, int]]) -> list[tuple[object, ...]]:
    """What the 0006 code wrote: each prev hash is the leaf hash before, each event hash the event's SHA-256."""
    prevs = [GENESIS_PREV] + [leaf for _, leaf, _, _ in entries[:-1]]
    return [(seq, prev, leaf, event, sha256(event)) for (seq, leaf, event, _), prev in zip(entries, prevs)]


def test_entries_lose_prev_and_event_hashes_and_get_them_back(ledger: Ledger, settings: Settings, small_chunks: None) -> None:
    world = World(ledger)
    uid = world.firearm()
    resent = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    receipt = ledger.append(resent)
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    ledger.checkpoint()
    entries, root = _entries(ledger), ledger.root()
    assert all(key == event_key(event) for _, _, event, key in entries)
    size = _audit_ok(ledger, settings)

    _migrate(ledger, "0006")
    old = _rows_0006(ledger)
    assert old == _as_0006_stored_them(entries)
    for _ in range(2):  # 0006 -> 0007 -> 0006 -> 0007
        _migrate(ledger, "head")
        with ledger.db.writer.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
        assert _entries(ledger) == entries and ledger.root() == root
        assert _audit_ok(ledger, settings) == size
        assert ledger.append(resent) == replace(receipt, duplicate=True)
        _migrate(ledger, "0006")
        assert _rows_0006(ledger) == old
    _migrate(ledger, "head")
    world.ship(uid, "de-jagd-schmidt", "it-beretta")  # and the log goes on
    assert _audit_ok(ledger, settings) == size + 2


@pytest.mark.parametrize("column", ["prev_hash", "event_hash"])
def test_a_log_whose_dropped_columns_disagree_with_it_is_refused_whole(ledger: Ledger, column: str) -> None:
    world = World(ledger)
    world.firearm()
    _migrate(ledger, "0006")
    with ledger.db.writer.begin() as connection:
        connection.execute(text(f"UPDATE entry SET {column} = leaf_hash WHERE seq = 3"))
    before = _rows_0006(ledger)
    with pytest.raises(RuntimeError, match="entry 3"):
        upgrade(ledger.db)
    assert _rows_0006(ledger) == before


def _hash_key(event: bytes) -> int:
    """0007's event key: the first 8 bytes of the event's SHA-256."""
    return int.from_bytes(sha256(event)[:8], "big", signed=True)


def _stored_keys(ledger: Ledger) -> list[int]:
    with ledger.db.writer.connect() as connection:
        return list(connection.execute(text("SELECT event_key FROM entry ORDER BY seq")).scalars())


def test_event_keys_move_to_time_order_and_back(ledger: Ledger, settings: Settings, small_chunks: None) -> None:
    world = World(ledger)
    uid = world.firearm()
    resent = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())
    receipt = ledger.append(resent)
    entries, root = _entries(ledger), ledger.root()
    size = _audit_ok(ledger, settings)

    _migrate(ledger, "0008")
    assert _stored_keys(ledger) == [_hash_key(event) for _, _, event, _ in entries]
    _migrate(ledger, "head")
    assert _stored_keys(ledger) == [event_key(event) for _, _, event, _ in entries] == [key for *_, key in entries]
    assert _entries(ledger) == entries and ledger.root() == root and _audit_ok(ledger, settings) == size
    assert ledger.append(resent) == replace(receipt, duplicate=True)  # a resend is still found by its key
    world.ship(uid, "it-beretta", "de-jagd-schmidt")  # and the log goes on
    assert _audit_ok(ledger, settings) == size + 2


def test_an_entry_whose_event_cannot_be_read_keeps_its_key_for_the_audit_to_report(ledger: Ledger) -> None:
    World(ledger).firearm()
    _migrate(ledger, "0008")
    with ledger.db.writer.begin() as connection:
        connection.execute(text("UPDATE entry SET event = :damaged WHERE seq = 3"), {"damaged": b"\x01not deflate"})
    before = _stored_keys(ledger)
    _migrate(ledger, "head")
    after = _stored_keys(ledger)
    assert after[3] == before[3] and after[:3] != before[:3]
