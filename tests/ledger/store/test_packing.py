"""Packed storage gives back exactly what was stored, shrinks what the log holds, and refuses damage."""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ledger.log.codec import canonical
from ledger.store import packing
from ledger.store.ledger import Ledger
from ledger.store.packing import PackError, pack, unpack
from ledger.store.rebuild import snapshot
from tests.ledger.log.test_codec import json_values
from tests.ledger.store.test_migrations import _audit_ok, _migrate
from tests.support import World

objects = st.dictionaries(st.text(max_size=8), json_values(st.text(max_size=8)), max_size=6)


@settings(max_examples=300, deadline=None)
@given(objects)
def test_any_json_object_comes_back_byte_for_byte(value: dict[str, object]) -> None:
    data = canonical(value)
    assert unpack(pack(data)) == data


def test_a_marking_is_stored_in_under_half_its_bytes() -> None:
    event = canonical({"type": "mark_firearm", "actor": "fr-manurhin", "time": "2026-11-23T08:12:44.120Z", "item": "01KAT5GQ7J3N8Y2W6V0B4C9D1E",
                       "marking": {"maker_code": "MAN", "serial": "MR73-118204", "country": "FR", "year": 2025, "make": "Manurhin",
                                   "model": "MR73 Sport", "category": "B", "calibre": ".357 Magnum"}})
    stored = pack(event)
    assert stored[0] == 1 and len(stored) * 2 <= len(event), (len(stored), len(event))


def test_plain_json_is_read_as_it_is_and_kept_plain_when_packing_would_not_shrink_it() -> None:
    assert unpack(b'{"a":1}') == b'{"a":1}'  # rows written before packing
    assert pack(b"{}") == b"{}"


@pytest.mark.parametrize("stored", [b"\x02abc", b"\x01\xff\xff\xff", b"\x01" + zlib.compress(b'{"a":1}')], ids=["unknown tag", "not deflate", "zlib framing"])
def test_damaged_or_foreign_values_are_refused(stored: bytes) -> None:
    with pytest.raises(PackError):
        unpack(stored)


def test_only_json_objects_are_packed() -> None:
    with pytest.raises(PackError, match="only JSON objects"):
        pack(b"[1]")


def test_a_changed_dictionary_is_refused_rather_than_misreading_every_row(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    changed = tmp_path / "packing_v1.zdict"
    changed.write_bytes(packing._V1_DICTIONARY + b" ")
    monkeypatch.setattr(packing, "__file__", str(tmp_path / "packing.py"))
    with pytest.raises(PackError, match="not the dictionary"):
        packing._dictionary("packing_v1.zdict", packing._V1_SHA256)


def _raw(ledger: Ledger, sql: str) -> list[object]:
    with ledger.db.writer.connect() as connection:
        return [row[0] for row in connection.execute(text(sql))]


def test_migration_packs_events_facts_and_chains_and_unpacks_them_again(ledger: Ledger, settings) -> None:  # noqa: ANN001
    world = World(ledger)
    uid = world.firearm()
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    events = [bytes(e.event) for e in ledger.entries(0, ledger.size())]
    with ledger.reading() as session:
        state = snapshot(session)
    size = _audit_ok(ledger, settings)
    assert all(bytes(stored)[0] == 1 for stored in _raw(ledger, "SELECT event FROM entry"))

    _migrate(ledger, "0006")
    assert [bytes(stored) for stored in _raw(ledger, "SELECT event FROM entry ORDER BY seq")] == events  # the signed bytes, plain
    facts = _raw(ledger, f"SELECT facts FROM item WHERE uid = '{uid}'")[0]
    assert (json.loads(facts) if isinstance(facts, str) else facts)["serial"]  # JSON again, readable by SQL

    _migrate(ledger, "head")
    assert all(bytes(stored)[0] == 1 for stored in _raw(ledger, "SELECT event FROM entry"))
    assert [bytes(e.event) for e in ledger.entries(0, ledger.size())] == events
    with ledger.reading() as session:
        assert snapshot(session) == state
    assert _audit_ok(ledger, settings) == size
