"""`Database.fetch_one`: the driver-level read that every API request makes, on both databases;
and what the SQLite driver binds."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, text
from sqlmodel import select

from ledger.store.db import in_values, open_database, values_param
from ledger.store.tables import Entry, Party
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


def test_sqlite_binds_bytes_views_and_none_as_blobs_and_nulls(tmp_path) -> None:  # noqa: ANN001
    """The engine skips the driver's adaptation lookups (`db._bind_as_they_are`): every value is
    still stored as itself."""
    db = open_database(f"sqlite:///{tmp_path / 'binds.db'}")
    values = (b"\x00\xffhash", memoryview(b"packed"), None, 7, "text")
    with db.writer.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (a, b, c, d, e)")
        connection.exec_driver_sql("INSERT INTO t VALUES (?, ?, ?, ?, ?)", values)
        stored = connection.execute(text("SELECT a, b, c, d, e, typeof(a), typeof(b), typeof(c), typeof(d), typeof(e) FROM t")).one()
    db.dispose()
    assert tuple(stored) == (b"\x00\xffhash", b"packed", None, 7, "text", "blob", "blob", "null", "integer", "text")


@pytest.mark.parametrize("how", ["this database's", "any database's"])
def test_one_of_finds_exactly_the_rows_whose_key_is_listed(ledger, how: str) -> None:  # noqa: ANN001
    """The batch lookups bind all their keys as one parameter; full 64-bit event keys match exactly."""
    World(ledger)
    with ledger.reading() as session:
        dialect = session.get_bind().dialect.name if how == "this database's" else "another"
        rows = session.execute(select(Entry.seq, Entry.event_key).order_by(Entry.seq)).all()
        wanted = [key for _, key in rows[::2]] + [2**62 + 1, -(2**63) + 1]  # and two keys no entry has
        found = session.execute(select(Entry.seq).where(in_values(Entry.event_key, "keys", dialect)),
                                {"keys": values_param(wanted, dialect)}).scalars().all()
    assert sorted(found) == [seq for seq, _ in rows[::2]] and len(rows) > 4
