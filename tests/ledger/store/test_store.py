"""The store on SQLite and on PostgreSQL: atomic batches, stored proofs, checkpoints, rebuild, erasure, schema."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import update
from sqlmodel import SQLModel, select
from ulid import ULID

from ledger.audit.recompute import audit
from ledger.config import Settings, open_ledger
from ledger.demo import run_demo
from ledger.domain.personal import commit
from ledger.errors import CheckpointError, EventInvalid, LedgerError, NotFound, RuleViolation, SignatureError
from ledger.log import merkle
from ledger.log.checkpoint import LogKey, verify_checkpoint
from ledger.log.codec import sha256
from ledger.log.entry import entry_leaf_hash, event_key
from ledger.log.keys import new_account
from ledger.log.signatures import sign_event
from ledger.store.appender import KEEP_NEW_ROWS
from ledger.store.ledger import Ledger
from ledger.store.rebuild import rebuild, snapshot
from ledger.store.tables import Diversion, Entry, Item, PersonalRecord
from ledger.store.txview import StateCache
from tests.conftest import NOW
from tests.support import CountingCache, World, writer_on


def state(ledger: Ledger) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    with ledger.reading() as session:
        return ledger.size(), snapshot(session)


def leaves(ledger: Ledger) -> list[bytes]:
    return [entry.leaf_hash for entry in ledger.entries(0, ledger.size())]


def audit_ok(ledger: Ledger) -> None:
    with ledger.reading() as session:
        report = audit(session, ledger.log_key.verifier_key, ledger.origin)
    assert report.ok, report.findings


# ---------------------------------------------------------------- batches


def _bad_batches(w: World) -> list[tuple[list[dict[str, Any]], int, type[LedgerError]]]:
    """Batches of good marks with one refused event: (batch, index of the refused one, its error)."""
    good = [w.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=w.marking()) for _ in range(3)]
    dealer_marks = w.envelope("de-jagd-schmidt", "mark_firearm", item=str(ULID()), marking=w.marking())
    unknown_key = sign_event(new_account(), good[0]["event"] | {"item": str(ULID())}, origin=w.ledger.origin)
    malformed = w.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=w.marking() | {"country": "XX"})
    return [(good + [dealer_marks] + good[:1], 3, RuleViolation), (good + [unknown_key], 3, SignatureError),
            (good[:2] + [malformed], 2, EventInvalid), ([dealer_marks] + good, 0, RuleViolation)]


def test_batch_is_all_or_nothing_and_names_the_refused_event(ledger: Ledger) -> None:
    w = World(ledger)
    for batch, bad, error in _bad_batches(w):
        before = state(ledger)
        with pytest.raises(error) as caught:
            ledger.append_batch(batch)
        assert caught.value.index == bad
        assert state(ledger) == before
        for envelope in batch[:bad]:
            with pytest.raises(NotFound):
                ledger.item(envelope["event"]["item"])
    assert len(ledger.append_batch(batch[1:])) == 3  # the same good events, once the bad one is gone


def test_single_append_error_has_no_index(ledger: Ledger) -> None:
    w = World(ledger)
    with pytest.raises(RuleViolation) as caught:
        w.act("de-jagd-schmidt", "mark_firearm", item=str(ULID()), marking=w.marking())
    assert caught.value.index is None


def test_batch_sees_its_own_earlier_events(ledger: Ledger) -> None:
    w = World(ledger)
    uid = str(ULID())
    batch = [w.envelope("it-beretta", "mark_firearm", item=uid, marking=w.marking()),
             w.envelope("it-beretta", "transfer", item=uid, to="de-jagd-schmidt", reference="R-1"),
             w.envelope("de-jagd-schmidt", "receive", item=uid)]
    receipts = ledger.append_batch(batch)
    assert [r.seq for r in receipts] == list(range(receipts[0].seq, receipts[0].seq + 3))
    assert ledger.item(uid).custodian == "de-jagd-schmidt"
    audit_ok(ledger)


# ---------------------------------------------------------------- proofs and checkpoints


def test_stored_proofs_equal_the_reference_and_verify_against_every_checkpoint(ledger: Ledger) -> None:
    w = World(ledger)
    checkpoints = [ledger.checkpoint()]
    for chunk in (1, 2, 5, 16, 17, 31, 64, 100, 3):
        ledger.append_batch([w.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=w.marking()) for _ in range(chunk)])
        checkpoints.append(ledger.checkpoint())
    hashes = leaves(ledger)
    size = len(hashes)
    assert size > 250 and [c.size for c in checkpoints][-1] == size
    for seq, entry in enumerate(ledger.entries(0, size)):  # each leaf hash covers the one before
        assert entry.leaf_hash == entry_leaf_hash(seq, hashes[seq - 1] if seq else bytes(32), entry.recorded_at, entry.event,
                                                  entry.signer, entry.signature)
    for n in range(size + 1):
        assert ledger.root(n) == merkle.root_from_leaves(hashes[:n])
    for row in checkpoints:
        signed = verify_checkpoint(row.note, ledger.log_key.verifier_key, ledger.origin)
        assert (signed.size, signed.root) == (row.size, row.root) == (row.size, merkle.root_from_leaves(hashes[: row.size]))
        for seq in range(row.size):
            proof = ledger.inclusion_proof(seq, row.size)
            assert proof == merkle.inclusion_proof(hashes[: row.size], seq)
            merkle.verify_inclusion(hashes[seq], seq, row.size, proof, signed.root)
        for older in checkpoints:
            if older.size <= row.size:
                proof = ledger.consistency_proof(older.size, row.size)
                assert proof == merkle.consistency_proof(hashes[: row.size], older.size)
                merkle.verify_consistency(older.size, row.size, older.root, signed.root, proof)
    for old in range(size + 1):
        assert ledger.consistency_proof(old, size) == merkle.consistency_proof(hashes, old)


def test_proofs_beyond_the_log_are_refused(ledger: Ledger) -> None:
    World(ledger)
    size = ledger.size()
    with pytest.raises(merkle.ProofError):
        ledger.inclusion_proof(size, size)
    with pytest.raises(merkle.ProofError):
        ledger.inclusion_proof(0, size + 1)
    with pytest.raises(merkle.ProofError):
        ledger.consistency_proof(size, size - 1)


def test_checkpoint_verifies_only_with_the_logs_key(ledger: Ledger) -> None:
    World(ledger)
    row = ledger.checkpoint()
    assert ledger.checkpoint().id == row.id  # nothing appended: no new checkpoint
    assert ledger.latest_checkpoint().note == row.note
    cp = verify_checkpoint(row.note, ledger.log_key.verifier_key, ledger.origin)
    assert (cp.size, cp.root, cp.origin) == (ledger.size(), ledger.root(), ledger.origin)
    with pytest.raises(CheckpointError):
        verify_checkpoint(row.note, LogKey.generate(ledger.log_key.name).verifier_key)
    with pytest.raises(CheckpointError, match="origin"):
        verify_checkpoint(row.note, ledger.log_key.verifier_key, "another.log/origin")


# ---------------------------------------------------------------- projection, erasure, schema


def test_rebuild_reproduces_the_projection_after_the_demo(ledger: Ledger) -> None:
    run_demo(ledger, items=6, now=NOW)
    before = state(ledger)
    assert before[1]["item"] and before[1]["permit_line"][0]["endorsed"] == "5"
    with ledger.writing() as session:  # damage the projection; the log is the truth
        session.execute(update(Item).values(status="destroyed", custodian=None))
    assert state(ledger) != before
    assert rebuild(ledger) == before[0]
    assert state(ledger) == before


def test_erase_removes_the_clear_text_and_keeps_every_proof(ledger: Ledger) -> None:
    run_demo(ledger, items=2, now=NOW)
    checkpoint = ledger.checkpoint()
    with ledger.reading() as session:
        record = session.exec(PersonalRecord.__table__.select()).one()
    assert record.name == "Max Mustermann"
    entries_before = [(e.event, e.leaf_hash) for e in ledger.entries(0, ledger.size())]
    assert any(record.commitment.encode() in event for event, _ in entries_before)
    assert not any(b"Mustermann" in event for event, _ in entries_before)

    ledger.erase_personal(record.commitment, "retention period ended")

    with ledger.reading() as session:
        erased = session.get(PersonalRecord, record.commitment)
    assert (erased.salt, erased.name, erased.address) == (None, None, None)
    assert erased.erased_reason == "retention period ended" and erased.erased_at is not None
    assert [(e.event, e.leaf_hash) for e in ledger.entries(0, ledger.size())] == entries_before
    seq = record.recorded_seq
    merkle.verify_inclusion(entries_before[seq][1], seq, checkpoint.size, ledger.inclusion_proof(seq, checkpoint.size), checkpoint.root)
    audit_ok(ledger)
    with pytest.raises(NotFound):
        ledger.erase_personal("00" * 32, "no such owner")


def test_sale_to_a_private_owner_needs_data_that_opens_the_commitment(ledger: Ledger) -> None:
    w = World(ledger)
    uid = w.firearm()
    w.ship(uid, "it-beretta", "de-jagd-schmidt")
    commitment, salt = commit("Erika Muster", "Berg 2, Mainz")
    wrong = {"salt": salt, "name": "Erika Mustermann", "address": "Berg 2, Mainz"}
    before = state(ledger)
    with pytest.raises(EventInvalid) as caught:
        w.act("de-jagd-schmidt", "transfer", personal=wrong, item=uid, owner_commitment=commitment, reference="S-1")
    assert caught.value.field == "personal" and state(ledger) == before
    with pytest.raises(EventInvalid):
        w.act("de-jagd-schmidt", "transfer", item=uid, owner_commitment=commitment, reference="S-1")
    assert ledger.count(PersonalRecord) == 0


def test_migrations_create_exactly_the_models_schema(ledger: Ledger) -> None:
    with ledger.db.writer.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diffs == []


def test_entries_hold_the_signed_bytes_and_their_hash_chain(ledger: Ledger) -> None:
    w = World(ledger)
    receipt = w.act("it-beretta", "mark_firearm", item=str(ULID()), marking=w.marking())
    with ledger.reading() as session:
        entry = session.get(Entry, receipt.seq)
    assert entry.leaf_hash == receipt.leaf_hash and entry.event_type == "mark_firearm" and entry.actor == "it-beretta"
    prev = ledger.entries(receipt.seq - 1, receipt.seq)[0].leaf_hash
    assert entry.leaf_hash == entry_leaf_hash(entry.seq, prev, entry.recorded_at, entry.event, entry.signer, entry.signature)
    assert receipt.event_hash == sha256(entry.event) and entry.event_key == event_key(entry.event)


def test_event_keys_grow_with_the_log_when_events_come_in_time_order(ledger: Ledger) -> None:
    """New keys land at the index's right edge: a key from the hash alone put each on a random page."""
    w = World(ledger)
    uid = w.firearm()
    w.ship(uid, "it-beretta", "de-jagd-schmidt")
    ledger.append_batch([w.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=w.marking()) for _ in range(5)])
    with ledger.reading() as session:
        keys = list(session.exec(select(Entry.event_key).order_by(Entry.seq)))
    assert len(keys) > 8 and keys == sorted(keys) and len(set(keys)) == len(keys)


def test_events_whose_keys_collide_are_both_appended_and_a_resend_is_still_answered(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    w = World(ledger)
    monkeypatch.setattr("ledger.store.appender.key_of", lambda event_hash, time: 42)  # every event from here on has the same key
    first, second = (w.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=w.marking()) for _ in range(2))
    a = ledger.append(first)
    b, a_again = ledger.append_batch([second, first])  # a key match that is another event, then a true resend
    assert not a.duplicate and not b.duplicate and b.seq == a.seq + 1 and ledger.size() == b.seq + 1
    assert a_again == replace(a, duplicate=True) and ledger.append(second) == replace(b, duplicate=True)
    assert ledger.size() == b.seq + 1
    with ledger.reading() as session:
        assert list(session.exec(select(Entry.event_key).where(Entry.seq >= a.seq))) == [42, 42]


def test_rows_made_by_one_batch_and_changed_by_a_later_one_are_stored_changed(ledger: Ledger) -> None:
    """A batch's new rows join the writer's session only when a later batch looks them up."""
    w = World(ledger)
    uid = w.firearm()  # one transaction makes the item and its custody row
    w.ship(uid, "it-beretta", "de-jagd-schmidt")  # later ones change both
    w.act("de-jagd-schmidt", "report_stolen", item=uid, place="Mainz", details="taken from the shop safe")
    assert ledger.item(uid).status == "stolen" and ledger.item(uid).custodian == "de-jagd-schmidt"
    with ledger.reading() as session:
        stored = snapshot(session)
    assert next(row for row in stored["diversion"] if row["uid"] == uid)["diverted_seq"] == ledger.size() - 1
    rebuild(ledger)
    with ledger.reading() as session:
        assert snapshot(session) == stored


def _item_rows(ledger: Ledger) -> tuple[dict[str, Any], dict[str, Any]]:
    with ledger.reading() as session:
        return ({row.uid: row.model_dump() for row in session.exec(select(Item))},
                {row.uid: row.model_dump() for row in session.exec(select(Diversion))})


def test_a_writer_catches_up_on_another_writer_s_inspections_and_projects_as_one_writer_would(
        ledger: Ledger, settings: Settings, sqlite_ledger: Ledger) -> None:
    """Two server processes on one database: one appends inspections between the other's groups.
    The other keeps its append cache, drops only the inspected item's rows, and the state it
    writes next is the state one writer appending the same log would write."""
    cache = CountingCache()
    ledger = writer_on(ledger, cache=cache)
    world = World(ledger)
    uid, untouched = world.firearm(), world.firearm()
    second = open_ledger(settings)  # the second process's writer
    second.clock = ledger.clock
    for location in ("FRA cargo", "MUC cargo"):  # an import with no shipment declared raises a question on the item's chain
        second.append(world.envelope("de-customs", "inspect", item=uid, country="DE", location=location, direction="import",
                                     verdict="VALID"))
    started_again = cache.started_again
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    world.ship(untouched, "it-beretta", "de-jagd-schmidt")
    assert cache.started_again == started_again

    sqlite_ledger.clock = ledger.clock
    for entry in ledger.entries(0, ledger.size()):  # the same log, appended by one writer
        sqlite_ledger.append({"event": json.loads(entry.event), "signer": entry.signer, "signature": entry.signature})
    assert leaves(sqlite_ledger) == leaves(ledger)
    assert _item_rows(ledger) == _item_rows(sqlite_ledger)
    assert [question["state"] for question in _item_rows(ledger)[1][uid]["chain"]["raised"]] == ["open", "open"]


def test_a_writer_starts_again_after_another_writer_s_other_events(ledger: Ledger, settings: Settings) -> None:
    """Anything but inspections may change any row (a party, a key, a permit): the cache starts again."""
    cache = CountingCache()
    ledger = writer_on(ledger, cache=cache)
    world = World(ledger)
    uid = world.firearm()
    second = open_ledger(settings)
    second.clock = ledger.clock
    second.append(world.envelope("it-beretta", "transfer", item=uid, to="de-jagd-schmidt", reference="REF-2"))
    started_again = cache.started_again
    world.act("de-jagd-schmidt", "receive", item=uid)
    assert cache.started_again == started_again + 1
    assert ledger.item(uid).custodian == "de-jagd-schmidt"


def test_a_bulk_batch_keeps_none_of_its_new_rows_cached_and_a_later_batch_reads_them_back(ledger: Ledger) -> None:
    """A bulk import's rows stay out of the append cache (keeping them cost more in garbage
    collection than reading back the few a later batch needs); a small batch's are kept. Either
    way a later batch finds them and stores its changes."""
    cache = StateCache(new_limit=KEEP_NEW_ROWS)
    ledger = writer_on(ledger, cache=cache)
    w = World(ledger)

    def marks(count: int) -> list[dict[str, Any]]:
        return [w.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=w.marking()) for _ in range(count)]

    small, bulk = marks(3), marks(300)  # 600 new rows (item and custody), beyond the cache's 500 a batch
    ledger.append_batch(small)
    ledger.append_batch(bulk)
    cached = {key for table, key in cache.rows if table is Item}
    small_uids, bulk_uids = [e["event"]["item"] for e in small], [e["event"]["item"] for e in bulk]
    assert set(small_uids) <= cached and not cached & set(bulk_uids)
    moved = small_uids[:2] + bulk_uids[:3] + bulk_uids[-2:]
    ledger.append_batch([w.envelope("it-beretta", "transfer", item=uid, to="de-jagd-schmidt", reference="REF-2") for uid in moved])
    assert [ledger.item(uid).pending_to for uid in moved] == ["de-jagd-schmidt"] * len(moved)
    with ledger.reading() as session:
        stored = snapshot(session)
    rebuild(ledger)
    with ledger.reading() as session:
        assert snapshot(session) == stored
