"""The append transaction on its own: built from a database, proofs, a signer or none, a clock and a cache."""

from __future__ import annotations

from typing import Any

import pytest
from ulid import ULID

from ledger.errors import StoreError
from ledger.store.appender import Appender
from ledger.store.ledger import Ledger
from ledger.store.proofs import Proofs
from ledger.store.tables import CheckpointRow, Party
from ledger.store.txview import StateCache
from tests.support import CountingCache, World


def _appender(ledger: Ledger, cache: StateCache | None = None) -> Appender:
    """An appender on `ledger`'s database that holds no log key."""
    return Appender(ledger.db, ledger.origin, Proofs(ledger.db), None, ledger.clock, ledger.reporting_window, cache)


def _mark(world: World) -> dict[str, Any]:
    return world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())


def test_an_appender_without_the_log_key_appends_but_signs_and_imports_nothing(sqlite_ledger: Ledger) -> None:
    world = World(sqlite_ledger)
    appender = _appender(sqlite_ledger)
    checkpoints = sqlite_ledger.count(CheckpointRow)
    receipts = appender.append_batch([_mark(world), _mark(world)], checkpoint=True)
    assert [r.seq for r in receipts] == [sqlite_ledger.size() - 2, sqlite_ledger.size() - 1]
    assert sqlite_ledger.count(CheckpointRow) == checkpoints
    with pytest.raises(StoreError, match="importing needs the log's key"):
        appender.import_batch([_mark(world)])
    assert sqlite_ledger.size() == receipts[-1].seq + 1
    assert sqlite_ledger.root() == sqlite_ledger.root(receipts[-1].seq + 1)


def test_its_cache_outlives_appends_and_is_dropped_by_a_write_around_them(sqlite_ledger: Ledger) -> None:
    """Appends keep the rows they loaded; a write outside the append path may change any of them."""
    world = World(sqlite_ledger)
    cache = CountingCache()
    appender = _appender(sqlite_ledger, cache)
    appender.append_batch([_mark(world)])
    loaded, parties = cache.started_again, {key for table, key in cache.rows if table is Party}
    assert "it-beretta" in parties
    appender.append_batch([_mark(world)])
    assert cache.started_again == loaded and parties <= {key for table, key in cache.rows if table is Party}
    with appender.writing():
        pass
    assert cache.started_again == loaded + 1 and cache.rows == {} and cache.head is None
    appender.append_batch([_mark(world)])
    assert sqlite_ledger.size() == len(world.parties) + 3
