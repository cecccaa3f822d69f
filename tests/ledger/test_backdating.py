"""Back-dating: an event's own time cannot get round licences, permits or an item's order.

A live event is dated at most the reporting window before the log records it; older history comes
in only through the authority's import, each entry marked imported; the audit replays the same
rules over the raw entries. Every test runs on SQLite and PostgreSQL (the `ledger` fixture).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from ulid import ULID

from ledger.audit.recompute import audit
from ledger.config import Settings, reporting_window
from ledger.errors import RuleViolation, StoreError
from ledger.investigation.trace import trace_item
from ledger.log.codec import format_time
from ledger.store.ledger import Ledger
from tests.conftest import NOW
from tests.ledger.domain.test_rules import new_party, state
from tests.support import World

Envelope = dict[str, Any]


def refused(ledger: Ledger, envelope: Envelope) -> str:
    """The rule that refuses `envelope`, having checked that nothing changed."""
    before = state(ledger)
    with pytest.raises(RuleViolation) as caught:
        ledger.append(envelope)
    assert state(ledger) == before
    return caught.value.rule


def chain(world: World, to: str, at: datetime) -> list[Envelope]:
    """A firearm marked, sent to `to` and received there, the steps a day apart from `at`."""
    uid = str(ULID())
    return [world.envelope("it-beretta", "mark_firearm", item=uid, marking=world.marking(), at=at),
            world.envelope("it-beretta", "transfer", item=uid, to=to, reference="R-1", at=at + timedelta(days=1)),
            world.envelope(to, "receive", item=uid, at=at + timedelta(days=2))]


def findings(ledger: Ledger, window: timedelta = timedelta(days=7)) -> list[tuple[int, str]]:
    ledger.checkpoint()
    with ledger.reading() as session:
        report = audit(session, ledger.log_key.verifier_key, ledger.origin, window=window)  # type: ignore[union-attr]
    return [(finding.seq, finding.what) for finding in report.findings]


def test_a_dealer_whose_licence_ended_gets_nothing_by_back_dating(ledger: Ledger) -> None:
    world = World(ledger)
    dealer = new_party(world, "de-alt", "dealer", "DE", licence=(-800, -200))
    item = world.firearm()
    dated_now = world.envelope("it-beretta", "transfer", item=item, to=dealer, reference="R-1")
    assert refused(ledger, dated_now) == "receiver_licence_invalid"
    for envelope in chain(world, dealer, NOW - timedelta(days=300)):  # when its licence was still valid
        assert refused(ledger, envelope) == "reporting_window_exceeded"


def test_inspections_reach_the_log_in_any_order_and_leave_the_items_history_where_it_was(ledger: Ledger) -> None:
    """Concurrent scans of one item are dated when each officer scanned: a group may append them in
    any order. An item's own history (its transfers, seizures) still never goes back in time."""
    world = World(ledger)
    meyer = new_party(world, "de-meyer", "dealer", "DE", licence=(-100, 100))
    item = world.firearm()
    world.act("it-beretta", "transfer", item=item, to="de-jagd-schmidt", reference="R-1")
    world.act("de-jagd-schmidt", "receive", item=item)
    later, earlier = world.tick(), world.tick() - timedelta(seconds=30)
    for when in (later, earlier):
        world.act("de-customs", "inspect", at=when, item=item, country="DE", location="FRA", direction="inland", verdict="VALID")
    world.act("de-jagd-schmidt", "transfer", at=later - timedelta(seconds=1), item=item, to=meyer, reference="R-2")
    with ledger.reading() as session:
        assert audit(session, ledger.log_key.verifier_key, ledger.origin, window=ledger.reporting_window).ok
    assert refused(ledger, world.envelope(meyer, "receive", at=later - timedelta(seconds=2), item=item)) == "out_of_order"


def test_an_event_reported_late_is_judged_at_its_own_time_within_the_window(ledger: Ledger) -> None:
    world = World(ledger)
    dealer = new_party(world, "de-spaet", "dealer", "DE", licence=(-800, -3))
    for envelope in chain(world, dealer, NOW - timedelta(days=6)):  # the dealer held a licence then
        ledger.append(envelope)
    assert findings(ledger) == []


def test_the_window_is_configured(ledger: Ledger) -> None:
    ledger.reporting_window = reporting_window("P30D")
    world = World(ledger)
    ledger.append(world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking(),
                                 at=NOW - timedelta(days=29)))
    late = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking(), at=NOW - timedelta(days=31))
    assert refused(ledger, late) == "reporting_window_exceeded"


@pytest.mark.parametrize("text", ["P0D", "-P1D", "7", "seven days", ""])
def test_a_window_that_is_no_positive_iso_duration_is_refused(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEMARK_REPORTING_WINDOW", text)
    with pytest.raises(StoreError, match="TRACEMARK_REPORTING_WINDOW"):
        Settings.from_env()


def test_the_window_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().reporting_window == timedelta(days=7)
    monkeypatch.setenv("TRACEMARK_REPORTING_WINDOW", "PT36H")
    assert Settings.from_env().reporting_window == timedelta(hours=36)


def test_an_event_dated_past_the_clock_skew_is_refused(ledger: Ledger) -> None:
    world = World(ledger)
    next_year = world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking(), at=NOW + timedelta(days=365))
    assert refused(ledger, next_year) == "time_in_future"
    ledger.append(world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking(), at=NOW + timedelta(minutes=4)))


def test_the_authority_imports_old_history_marked_as_such(ledger: Ledger) -> None:
    world = World(ledger)
    history = chain(world, "de-jagd-schmidt", NOW - timedelta(days=300))
    receipts = ledger.import_batch(history)
    uid = history[0]["event"]["item"]
    world.act("de-jagd-schmidt", "transfer", item=uid, to="be-armurerie", reference="R-2")
    steps = trace_item(ledger, uid).steps
    assert [(step.type, step.imported) for step in steps] == [
        ("mark_firearm", True), ("transfer", True), ("receive", True), ("transfer", False)]
    assert [entry.imported for entry in ledger.entries(receipts[0].seq, receipts[-1].seq + 1)] == [True, True, True]
    assert findings(ledger) == []


def test_an_import_is_judged_by_every_other_rule_and_kept_whole_or_not_at_all(ledger: Ledger) -> None:
    world = World(ledger)
    dealer = new_party(world, "de-alt", "dealer", "DE", licence=(-800, -200))
    before = state(ledger)
    after_expiry = chain(world, dealer, NOW - timedelta(days=150))
    with pytest.raises(RuleViolation) as caught:
        ledger.import_batch(after_expiry)
    assert (caught.value.rule, caught.value.index) == ("receiver_licence_invalid", 1)
    backwards = chain(world, "de-jagd-schmidt", NOW - timedelta(days=150))
    backwards[2] = world.envelope("de-jagd-schmidt", "receive", item=backwards[0]["event"]["item"], at=NOW - timedelta(days=151))
    with pytest.raises(RuleViolation) as caught:
        ledger.import_batch(backwards)
    assert (caught.value.rule, caught.value.index) == ("out_of_order", 2)
    assert state(ledger) == before


def test_only_the_holder_of_the_log_key_imports(ledger: Ledger) -> None:
    world = World(ledger)
    without_key = Ledger(ledger.db, origin=ledger.origin, clock=ledger.clock)
    with pytest.raises(StoreError, match="log's key"):
        without_key.import_batch(chain(world, "de-jagd-schmidt", NOW - timedelta(days=300)))


def test_the_audit_flags_a_live_entry_dated_before_the_window(ledger: Ledger) -> None:
    """A log appended by code without the window (or under a wider one) does not pass for sound."""
    world = World(ledger)
    ledger.reporting_window = timedelta(days=3650)
    receipts = [ledger.append(envelope) for envelope in chain(world, "de-jagd-schmidt", NOW - timedelta(days=300))]
    found = findings(ledger)
    assert [seq for seq, _ in found] == [receipt.seq for receipt in receipts]
    assert all(what.startswith("reporting_window_exceeded:") and "not imported" in what for _, what in found)
    assert findings(ledger, window=timedelta(days=3650)) == []


def test_the_audit_flags_what_the_rules_would_have_refused(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries that got past the rules (older code, a write around the append pipeline): an item's
    history going back in time, a licence or permit not valid at the event's own time."""
    world = World(ledger)
    dealer = new_party(world, "de-alt", "dealer", "DE", licence=(-800, -200))
    permit = world.issue_permit(valid_until=format_time(world.clock + timedelta(minutes=10)))
    skin = world.specimen(permit)  # tagged while the permit was valid
    item = world.firearm()
    monkeypatch.setattr("ledger.store.appender.check_event", lambda *_: None)
    backwards = world.act("it-beretta", "transfer", item=item, to=dealer, reference="R-1", at=world.clock - timedelta(hours=1))
    exported = world.act("ke-customs", "export", item=skin, permit=permit, line=1, quantity="1", country="KE", location="JKIA",
                         at=world.clock + timedelta(hours=1))
    found = findings(ledger)
    assert [what.split(":")[0] for seq, what in found if seq == backwards.seq] == ["out_of_order", "licence_invalid"]
    assert [what.split(":")[0] for seq, what in found if seq == exported.seq] == ["permit_expired"]
    assert {seq for seq, _ in found} == {backwards.seq, exported.seq}
