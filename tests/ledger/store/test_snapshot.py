"""`Snapshot`: a request's reads straight through the driver, as the ORM would read them, in one snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import bindparam
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from api.history import item_entries, item_story
from api.judging import HISTORY_LIMIT
from ledger.store.db import open_database
from ledger.store.snapshot import Snapshot, rows_of
from ledger.store.tables import Entry, Item, PartyKey
from tests.support import World


def test_rows_are_what_a_session_reads(ledger) -> None:  # noqa: ANN001
    """Column types convert as the ORM does: packed JSON, packed event bytes, addresses and signatures as text."""
    world = World(ledger)
    uid = world.firearm()
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    with ledger.reading() as session:
        item = session.get(Item, uid)
        entries = list(session.exec(select(Entry).where(Entry.item_uid == uid).order_by(Entry.seq)))
        key = session.get(PartyKey, world.parties["it-beretta"].account.address)
    with Snapshot(ledger.db) as reads:
        assert reads.get(Item, uid).model_dump() == item.model_dump()
        assert [row.model_dump() for row in reads.all(Entry, rows_of(Entry).where(Entry.item_uid == bindparam("uid"))
                                                     .order_by(Entry.seq), {"uid": uid})] == [row.model_dump() for row in entries]
        assert reads.get(PartyKey, key.address).model_dump() == key.model_dump()
        assert reads.get(Item, "01JD7Q3N2M4X5Y6Z7A8B9C0D1E") is None


def test_an_item_story_keeps_its_custody_and_only_the_newest_sighting(ledger) -> None:  # noqa: ANN001
    """The story statement binds a literal of its own (the event type) beside the caller's parameters."""
    world = World(ledger)
    uid = world.firearm()
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    inspections = [world.act("de-customs", "inspect", item=uid, country="DE", location="FRA", direction="import", verdict="VALID")
                   for _ in range(3)]
    with Snapshot(ledger.db) as reads:
        everything = item_entries(reads, uid)
        story = item_story(reads, uid, limit=2)
        newest = item_entries(reads, uid, limit=2)
    assert [e.type for e in everything] == ["mark_firearm", "transfer", "receive", "inspect", "inspect", "inspect"]
    assert [(e.type, e.seq) for e in story] == [("transfer", everything[1].seq), ("receive", everything[2].seq),
                                                 ("inspect", inspections[-1].seq)]
    assert [e.seq for e in newest] == [inspections[-2].seq, inspections[-1].seq]


def _story_steps(ledger, uid: str) -> tuple[int, list[int]]:  # noqa: ANN001
    """SQLite's virtual-machine steps to read `uid`'s story for a scan, and the story's seqs."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    with Snapshot(ledger.db) as reads:
        driver = reads._connection.driver_connection
        driver.set_progress_handler(count, 1)
        try:
            story = item_story(reads, uid, HISTORY_LIMIT)
        finally:
            driver.set_progress_handler(None, 1)
    return steps, [entry.seq for entry in story]


def test_a_story_costs_the_same_however_often_the_item_was_inspected(sqlite_ledger) -> None:  # noqa: ANN001
    """Custody entries are read by `ix_entry_item_custody`: inspections piling up at border posts are
    never stepped over (through `ix_entry_item_seq` each one cost a row read at every later scan)."""
    world = World(sqlite_ledger)
    uid = world.firearm()
    world.ship(uid, "it-beretta", "de-jagd-schmidt")

    def inspect(n: int) -> int:
        return world.act("de-customs", "inspect", item=uid, country="DE", location=f"FRA gate {n}", direction="import",
                         verdict="VALID").seq

    inspect(0)
    few_steps, few_story = _story_steps(sqlite_ledger, uid)
    newest = [inspect(n) for n in range(1, 61)][-1]
    many_steps, many_story = _story_steps(sqlite_ledger, uid)
    assert many_story == [*few_story[:-1], newest]  # the same custody, and the newest sighting
    assert many_steps == few_steps


def test_every_read_of_a_snapshot_sees_the_log_as_its_first_read_did(ledger) -> None:  # noqa: ANN001
    world = World(ledger)
    uid = world.firearm()
    with Snapshot(ledger.db) as reads:
        before = item_entries(reads, uid)
        world.ship(uid, "it-beretta", "de-jagd-schmidt")  # appended meanwhile, by the ledger's writer
        assert item_entries(reads, uid) == before
        assert reads.get(Item, uid).custodian == "it-beretta"
    with Snapshot(ledger.db) as reads:
        assert len(item_entries(reads, uid)) == len(before) + 2
        assert reads.get(Item, uid).custodian == "de-jagd-schmidt"


def test_a_database_that_cannot_be_reached_is_sqlalchemy_s_error(tmp_path: Path) -> None:
    """What the API turns into a 503, as it does for a session's reads."""
    db = open_database(f"sqlite:///{tmp_path / 'no-such-folder' / 'log.db'}")
    with pytest.raises(DBAPIError):
        with Snapshot(db):
            pass
