"""`Database.fetch_one`: the driver-level read that every API request makes, on both databases."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlmodel import select

from ledger.tables import Entry, Party
from tests.support import World


def test_fetch_one_reads_what_a_session_reads(ledger) -> None:  # noqa: ANN001
    World(ledger)
    by_id = select(Party.id, Party.role, Party.registered_seq).where(Party.id == bindparam("id"))
    with ledger.reading() as session:
        expected = tuple(session.execute(by_id, {"id": "it-beretta"}).one())
    assert tuple(ledger.db.fetch_one(by_id, {"id": "it-beretta"})) == expected
    assert ledger.db.fetch_one(by_id, {"id": "nobody"}) is None


def test_fetch_one_takes_named_parameters_in_any_order_and_returns_driver_bytes(ledger) -> None:  # noqa: ANN001
    World(ledger)
    statement = select(Entry.seq, Entry.leaf_hash).where(Entry.seq >= bindparam("low"), Entry.seq < bindparam("high"))
    seq, leaf = ledger.db.fetch_one(statement, {"high": 2, "low": 1})
    assert seq == 1 and bytes(leaf) == ledger.entries(1, 2)[0].leaf_hash
