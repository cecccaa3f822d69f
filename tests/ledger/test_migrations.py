"""Migrations move a populated log both ways without changing a hashed byte (0006: signatures as bytes)."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel
from ulid import ULID

from ledger.audit import audit
from ledger.config import Settings
from ledger.migrate import alembic_config, upgrade
from ledger.store import Ledger
from ledger.tables import Entry

from tests.support import World


def _migrate(ledger: Ledger, revision: str) -> None:
    with ledger.db.writer.connect() as connection:
        if revision == "head":
            command.upgrade(alembic_config(connection), revision)
        else:
            command.downgrade(alembic_config(connection), revision)
        connection.commit()
    ledger._forget()  # the append path's cache describes the old tables


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
