"""Diversion patterns traced from a real log: diversion point, last legitimate custodian, time-to-crime.

Each story runs on SQLite and PostgreSQL (the `ledger` fixture); each also checks that the
`diversion` projection kept at append time says what the trace replayed from the log says.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select
from ulid import ULID

from ledger.domain.personal import commit
from ledger.errors import RuleViolation
from ledger.investigation.trace import Trace, answer_request, trace_item
from ledger.log import merkle
from ledger.store.ledger import Ledger
from ledger.store.rebuild import rebuild, snapshot
from ledger.store.tables import Diversion, TraceRequestRow
from tests.conftest import NOW
from tests.support import World


def at(days_ago: float) -> Any:
    return NOW - timedelta(days=days_ago)


def traced(ledger: Ledger, uid: str) -> Trace:
    """Trace `uid` and assert that the projection row agrees with the replayed fold."""
    ledger.checkpoint()
    trace = trace_item(ledger, uid)
    with ledger.reading() as session:
        row = session.get(Diversion, uid)
    assert row is not None
    diversion = trace.chain.diversion
    assert row.diverted_seq == (diversion and diversion.seq)
    assert row.diversion_kind == (diversion and diversion.kind)
    assert row.last_legit_custodian == (diversion and diversion.last_legit_custodian)
    assert row.time_to_crime_days == trace.chain.ttc_days
    return trace


def test_theft_after_retail_sale(ledger: Ledger) -> None:
    world = World(ledger, start=at(400), imports=True)  # histories of a year and more: imported
    uid = str(ULID())
    world.act("it-beretta", "mark_firearm", at=at(390), item=uid, marking=world.marking())
    world.act("it-beretta", "transfer", at=at(389), item=uid, to="de-jagd-schmidt", reference="IT-DE-1")
    world.act("de-jagd-schmidt", "receive", at=at(385), item=uid)
    owner, salt = commit("Erika Musterfrau", "Zeil 1, Frankfurt")
    world.act("de-jagd-schmidt", "transfer", at=at(300), personal={"salt": salt, "name": "Erika Musterfrau", "address": "Zeil 1, Frankfurt"},
              item=uid, owner_commitment=owner, reference="WBK 1/2026")
    stolen = world.act("de-police", "report_stolen", at=at(200), item=uid, place="Frankfurt", details="burglary")
    world.act("be-police", "seize", at=at(10), item=uid, country="BE", place="Liege", reason="vehicle search", case="LG-1")

    trace = traced(ledger, uid)

    assert trace.chain.diversion is not None
    assert (trace.chain.diversion.seq, trace.chain.diversion.kind) == (stolen.seq, "theft")
    assert trace.chain.diversion.last_legit_custodian == "de-jagd-schmidt"
    assert trace.chain.ttc_days == 290 and trace.chain.ttc_flagged
    assert [step.type for step in trace.steps] == ["mark_firearm", "transfer", "receive", "transfer", "report_stolen", "seize"]


def test_every_step_carries_an_inclusion_proof_against_the_checkpoint(ledger: Ledger) -> None:
    world = World(ledger, start=at(400), imports=True)  # histories of a year and more: imported
    uid = world.firearm()
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    trace = traced(ledger, uid)
    assert trace.checkpoint is not None
    root, size = bytes.fromhex(trace.checkpoint["root"]), trace.checkpoint["size"]
    for step in trace.steps:
        assert step.proof is not None
        merkle.verify_inclusion(bytes.fromhex(step.leaf_hash), step.seq, size, [bytes.fromhex(h) for h in step.proof], root)
    tampered = [bytes.fromhex(h) for h in trace.steps[0].proof or []]
    tampered[0] = bytes(32)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(bytes.fromhex(trace.steps[0].leaf_hash), trace.steps[0].seq, size, tampered, root)


def test_transfer_never_received_then_seized(ledger: Ledger) -> None:
    world = World(ledger, start=at(400), imports=True)  # histories of a year and more: imported
    uid = str(ULID())
    world.act("at-glock", "mark_firearm", at=at(200), item=uid, marking=world.marking("at-glock"))
    sent = world.act("at-glock", "transfer", at=at(150), item=uid, to="be-armurerie", reference="AT-BE-9")
    assert traced(ledger, uid).chain.open_questions() == [f"transfer at entry {sent.seq} to be-armurerie was never received"]
    world.act("be-police", "seize", at=at(20), item=uid, country="BE", place="Liege", reason="street sale")

    trace = traced(ledger, uid)

    diversion = trace.chain.diversion
    assert diversion is not None
    assert (diversion.seq, diversion.kind, diversion.last_legit_custodian) == (sent.seq, "unreceived_transfer", "at-glock")
    assert trace.chain.ttc_days == 180  # no legal transfer completed: counted from the marking


def test_specimen_inspected_at_a_border_it_was_never_permitted_through(ledger: Ledger) -> None:
    world = World(ledger, start=at(30), imports=True)  # weeks of history: imported
    permit = world.issue_permit()
    uid = world.specimen(permit)
    world.act("ke-customs", "export", at=at(20), item=uid, permit=permit, line=1, quantity="1", country="KE", location="JKIA")
    inspected = world.act("be-police", "inspect", at=at(18), item=uid, country="BE", location="Liege airport", direction="import", verdict="NO_PERMIT")
    seized = world.act("be-police", "seize", at=at(17), item=uid, country="BE", place="Liege airport", reason="not permitted through BE")

    trace = traced(ledger, uid)

    diversion = trace.chain.diversion
    assert diversion is not None  # the seizure states it; the inspection alone is a question until an investigator confirms it
    assert (diversion.seq, diversion.kind, diversion.last_legit_custodian) == (seized.seq, "off_route", "ke-croc-ranch")
    assert [question.seq for question in trace.chain.raised if question.state == "open"] == [inspected.seq]
    assert (diversion.origin_country, trace.chain.found_country) == ("KE", "BE")
    assert trace.chain.ttc_days == 3  # from the export, the last legal transfer


def test_specimens_tagged_beyond_their_permit_line(ledger: Ledger) -> None:
    world = World(ledger, start=at(30), imports=True)  # weeks of history: imported
    permit = world.issue_permit(quantity="2")
    legal = [world.specimen(permit), world.specimen(permit)]
    extra = str(ULID())
    marked = world.act("ke-kws", "mark_specimen", at=at(15), item=extra, permit=permit, line=1, tag=world.tag())
    world.act("ke-customs", "seize", at=at(5), item=extra, country="KE", place="Mombasa port", reason="third tag on a permit for two")

    trace = traced(ledger, extra)

    diversion = trace.chain.diversion
    assert diversion is not None
    assert (diversion.seq, diversion.kind, diversion.last_legit_custodian) == (marked.seq, "over_quota", "ke-croc-ranch")
    assert trace.chain.ttc_days == 10
    assert trace.chain.open_questions() == [f"permit line over-endorsed: tagged 3 of 2 pcs on permit {permit} line 1"]
    assert all(traced(ledger, uid).chain.diversion is None for uid in legal)


def test_a_clone_of_another_makers_marking(ledger: Ledger) -> None:
    world = World(ledger, start=at(400), imports=True)  # histories of a year and more: imported
    original = str(ULID())
    world.act("it-beretta", "mark_firearm", at=at(120), item=original, marking=world.marking("it-beretta", serial="PX4-CLONE-1"))
    clone = str(ULID())
    copied = world.marking("it-beretta", serial="PX4-CLONE-1")
    marked = world.act("at-glock", "mark_firearm", at=at(100), item=clone, marking=copied)
    world.act("at-glock", "transfer", at=at(90), item=clone, to="be-armurerie", reference="AT-BE-X")
    world.act("be-armurerie", "receive", at=at(89), item=clone)
    world.act("be-police", "seize", at=at(40), item=clone, country="BE", place="Liege", reason="marking copies a Beretta")

    trace = traced(ledger, clone)

    diversion = trace.chain.diversion
    assert diversion is not None
    assert (diversion.seq, diversion.kind, diversion.last_legit_custodian) == (marked.seq, "clone", "at-glock")
    assert trace.chain.ttc_days == 60  # the sale after the clone was marked is not a legal transfer
    assert trace.chain.open_questions() == [f"marking copies item {original}, marked earlier by another party"]
    assert traced(ledger, original).chain.diversion is None


def test_undeclared_crossing_and_a_released_check(ledger: Ledger) -> None:
    world = World(ledger, start=at(400), imports=True)  # histories of a year and more: imported
    uid = world.firearm()
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    world.act("de-police", "seize", item=uid, country="DE", place="Frankfurt", reason="paperwork check")
    world.act("de-police", "release", item=uid, reason="licence confirmed")
    assert traced(ledger, uid).chain.diversion is None
    scanned = world.act("de-customs", "inspect", item=uid, country="DE", location="FRA", direction="export", verdict="NOT_DECLARED")
    assert traced(ledger, uid).chain.diversion is None  # a question until an investigator confirms it
    world.act("investigator", "confirm_finding", item=uid, question_seq=scanned.seq, reason="no export declared")

    diversion = traced(ledger, uid).chain.diversion
    assert diversion is not None
    assert (diversion.seq, diversion.kind, diversion.last_legit_custodian) == (scanned.seq, "undeclared_crossing", "de-jagd-schmidt")


def test_rebuild_recomputes_the_same_diversion_rows(sqlite_ledger: Ledger) -> None:
    world = World(sqlite_ledger)
    uid = world.firearm()
    world.act("it-beretta", "transfer", item=uid, to="be-armurerie", reference="X")
    world.act("it-beretta", "report_lost", item=uid, place="Brescia", details="lost in transit")
    with sqlite_ledger.reading() as session:
        before = snapshot(session)
    rebuild(sqlite_ledger)
    with sqlite_ledger.reading() as session:
        after = snapshot(session)
    assert before["diversion"] and before == after


def test_trace_request_answered_by_the_named_authority(ledger: Ledger) -> None:
    world = World(ledger, start=at(400), imports=True)  # histories of a year and more: imported
    uid = world.firearm(serial="PX4-TR-1")
    world.act("it-beretta", "report_stolen", item=uid, place="Brescia", details="factory theft")
    request = world.act("be-police", "trace_request", at=at(3), authority="registry", agency="Police Federale", case="LG-2026-9",
                        serial="PX4-TR-1", make="Beretta", model="APX A1", calibre="9x19mm", country="BE",
                        recovery_place="Liege", recovery_date="2026-11-19T08:00:00.000Z")
    ledger.checkpoint()
    fields = answer_request(ledger, request.seq)
    assert fields["item"] == uid and fields["last_legit_custodian"] == "it-beretta"

    with pytest.raises(RuleViolation) as refused:
        world.act("de-police", "trace_answer", **fields)
    assert refused.value.rule == "actor_role"
    world.act("registry", "trace_answer", at=at(1), **fields)

    with ledger.reading() as session:
        row = session.get(TraceRequestRow, request.seq)
    assert row is not None and row.item_uid == uid
    assert row.answer_seconds == 2 * 24 * 3600


def test_only_enforcement_requests_traces(ledger: Ledger) -> None:
    world = World(ledger, start=at(400), imports=True)  # histories of a year and more: imported
    with pytest.raises(RuleViolation) as refused:
        world.act("de-jagd-schmidt", "trace_request", authority="registry", agency="x", case="c", serial="S1", make="Beretta",
                  country="DE", recovery_place="p", recovery_date="2026-11-19T08:00:00.000Z")
    assert refused.value.rule == "actor_role"
    with ledger.reading() as session:
        assert session.exec(select(TraceRequestRow)).all() == []


def test_projection_agrees_with_the_trace_for_every_demo_item(sqlite_ledger: Ledger) -> None:
    from ledger.demo import run_demo

    result = run_demo(sqlite_ledger, items=6, now=NOW)
    for uid in result.items.values():
        traced(sqlite_ledger, uid)
