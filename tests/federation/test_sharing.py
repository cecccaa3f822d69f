"""What a log tells a peer about its item, field by field, as the peer's `--share` allows; what the
asking log accepts of such an answer; and that a foreign inspection and a hit notice are the log's
own events, audited and rebuilt like any other."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ledger import (
    LOG_KEY_ONLY,
    Ledger,
    Peer,
    RuleViolation,
    StatusInvalid,
    TlogProof,
    audit,
    rebuild,
    status_answer,
    verify_status,
)
from ledger.log.checkpoint import LogKey
from ledger.store.rebuild import snapshot
from tests.support import World

KE = LogKey.generate("kws.ke.example/log")
ALWAYS = {"uid", "origin", "status", "flagged", "as_of", "kind", "proof", "leaf_hash", "checkpoint"}


def asker(*share: str) -> Peer:
    return Peer("ke", KE.name, KE.verifier_key, "https://kws.ke.example", "KE", share, 0)


def own_peer(ledger: Ledger) -> Peer:
    """This log as a peer would hold it."""
    return Peer("de", ledger.origin, ledger.log_key.verifier_key, "https://registry.de.example", "DE", (), 0)  # type: ignore[union-attr]


@pytest.fixture
def stolen(ledger: Ledger) -> tuple[World, str]:
    world = World(ledger)
    uid = world.firearm()
    world.act("de-police", "report_stolen", item=uid, place="Frankfurt am Main", details="burglary reported by Max Mustermann")
    return world, uid


@pytest.mark.parametrize(("share", "extra_fields"), [((), set()), (("facts",), {"facts"}), (("holder_country",), {"holder_country"}),
                                                     (("facts", "holder_country"), {"facts", "holder_country"})])
def test_each_field_leaves_only_with_its_share(ledger: Ledger, stolen: tuple[World, str], share: tuple[str, ...],
                                               extra_fields: set[str]) -> None:
    _, uid = stolen
    answer = status_answer(ledger, uid, asker(*share))
    assert set(answer) == ALWAYS | extra_fields
    assert (answer["status"], answer["flagged"], answer["origin"]) == ("stolen", True, ledger.origin)
    if "facts" in extra_fields:
        assert answer["facts"]["serial"] == ledger.item(uid).serial
    if "holder_country" in extra_fields:
        assert answer["holder_country"] == ledger.item(uid).country
    assert "Mustermann" not in str(answer)  # the report's free text (personal data) never leaves, not even with facts
    assert TlogProof.parse(answer["proof"]).extra is None


def test_the_entry_bytes_leave_with_facts_when_the_entry_holds_no_free_text(ledger: Ledger) -> None:
    world = World(ledger)
    uid = world.firearm()
    with_facts = TlogProof.parse(status_answer(ledger, uid, asker("facts"))["proof"])
    assert with_facts.extra is not None and uid.encode() in with_facts.extra
    assert TlogProof.parse(status_answer(ledger, uid, asker())["proof"]).extra is None


def test_the_asking_log_accepts_a_true_answer_and_refuses_a_doctored_one(ledger: Ledger, stolen: tuple[World, str]) -> None:
    _, uid = stolen
    now = datetime.now(UTC)
    for share in ((), ("facts",)):
        answer = status_answer(ledger, uid, asker(*share))
        assert verify_status(answer, own_peer(ledger), uid, LOG_KEY_ONLY, now).status == "stolen"
    answer = status_answer(ledger, uid, asker())
    doctored: list[dict[str, Any]] = [
        {**answer, "leaf_hash": "00" * 32},
        {**answer, "status": "active"},  # flagged still true
        {**answer, "uid": "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
        {**answer, "proof": answer["proof"].replace("index ", "index 1", 1)},
    ]
    for bad in doctored:
        with pytest.raises(StatusInvalid):
            verify_status(bad, own_peer(ledger), uid, LOG_KEY_ONLY, now)
    wrong_key = Peer("de", ledger.origin, LogKey.generate(ledger.origin).verifier_key, "https://x.example", "DE", (), 0)
    with pytest.raises(StatusInvalid):
        verify_status(answer, wrong_key, uid, LOG_KEY_ONLY, now)


def test_a_foreign_inspection_names_a_current_peer_and_touches_no_item_here(ledger: Ledger) -> None:
    world = World(ledger)
    foreign = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    inspect = dict(item=foreign, country="DE", location="Frankfurt", direction="import", verdict="VALID", log=KE.name)
    with pytest.raises(RuleViolation, match="not the log of a current peer"):
        world.act("de-customs", "inspect", **inspect)
    world.act("registry", "add_peer", peer={"name": "ke", "origin": KE.name, "vkey": KE.verifier_key, "url": "https://kws.ke.example",
                                            "country": "KE", "share": []})
    world.act("de-customs", "inspect", **inspect)
    local = world.firearm()
    with pytest.raises(RuleViolation, match="is this log's"):
        world.act("de-customs", "inspect", **{**inspect, "item": local})
    with ledger.reading() as session:
        before = snapshot(session)
    rebuild(ledger)
    with ledger.reading() as session:
        assert snapshot(session) == before
        report = audit(session, ledger.log_key.verifier_key, origin=ledger.origin)  # type: ignore[union-attr]
    assert report.ok, report.findings
