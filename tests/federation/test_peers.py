"""Peers as the log's own events: who may peer, what a peer must be, and that the projection is the log's."""

from __future__ import annotations

from typing import Any

import pytest

from ledger import EventInvalid, Ledger, RuleViolation, audit, list_peers, peer_by_key_id, peer_by_origin, peer_named, rebuild
from ledger.log.checkpoint import LogKey
from ledger.store.rebuild import snapshot
from tests.support import World

DE = LogKey.generate("registry.de.example/log")
KE = LogKey.generate("kws.ke.example/log")


def peer(name: str = "de", key: LogKey = DE, **changes: Any) -> dict[str, Any]:
    return {"name": name, "origin": key.name, "vkey": key.verifier_key, "url": "https://registry.de.example", "country": "DE",
            "share": ["facts"]} | changes


def test_an_admin_peers_changes_and_removes_a_peer_and_rebuild_and_audit_agree(ledger: Ledger) -> None:
    world = World(ledger)
    world.act("registry", "add_peer", peer=peer())
    world.act("registry", "add_peer", peer=peer("ke", KE, url="http://127.0.0.1:8001/prefix", country="KE", share=[]))
    [de, ke] = list_peers(ledger)
    assert (de.name, de.origin, de.vkey, de.country, de.share) == ("de", DE.name, DE.verifier_key, "DE", ("facts",))
    assert ke.url == "http://127.0.0.1:8001/prefix" and ke.share == ()
    assert peer_by_origin(ledger, KE.name) == ke
    assert peer_by_key_id(ledger, KE.key_hash.hex().upper()) == ke
    assert ke.key_id == KE.key_hash.hex()

    receipt = world.act("registry", "add_peer", peer=peer(share=["holder_country", "facts"], url="https://new.de.example"))
    changed = peer_named(ledger, "de")
    assert changed is not None and changed.url == "https://new.de.example" and changed.added_seq == receipt.seq
    assert changed.shares("holder_country")

    world.act("registry", "remove_peer", name="ke", reason="the agreement ended")
    assert [p.name for p in list_peers(ledger)] == ["de"]
    assert peer_by_origin(ledger, KE.name) is None and peer_named(ledger, "ke") is None
    world.act("registry", "add_peer", peer=peer("kenya", KE, country="KE"))  # the same log under a new name, once removed
    assert peer_by_origin(ledger, KE.name).name == "kenya"  # type: ignore[union-attr]

    with ledger.reading() as session:
        before = snapshot(session)
    rebuild(ledger)
    with ledger.reading() as session:
        assert snapshot(session) == before
        report = audit(session, ledger.log_key.verifier_key, origin=ledger.origin)  # type: ignore[union-attr]
    assert report.ok, report.findings


def test_only_an_admin_peers(ledger: Ledger) -> None:
    world = World(ledger)
    with pytest.raises(RuleViolation) as refused:
        world.act("de-police", "add_peer", peer=peer())
    assert refused.value.rule == "actor_role"
    world.act("registry", "add_peer", peer=peer())
    with pytest.raises(RuleViolation) as refused:
        world.act("de-police", "remove_peer", name="de", reason="no")
    assert refused.value.rule == "actor_role"
    assert [p.name for p in list_peers(ledger)] == ["de"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"vkey": KE.verifier_key}, "peer"),  # a key named after another log
    ({"vkey": DE.verifier_key[:-4] + "AAA="}, "peer.vkey"),  # a key whose hash does not match
    ({"url": "ftp://registry.de.example"}, "peer.url"),
    ({"url": "https://registry.de.example/"}, "peer.url"),
    ({"url": "https://registry.de.example/?x=1"}, "peer.url"),
    ({"country": "XX"}, "peer.country"),
    ({"country": "de"}, "peer.country"),
    ({"share": ["owner"]}, "peer.share.0"),
    ({"share": ["facts", "facts"]}, "peer.share"),
    ({"name": "Germany"}, "peer.name"),
])
def test_a_malformed_peer_is_refused(sqlite_ledger: Ledger, changes: dict[str, Any], field: str) -> None:
    world = World(sqlite_ledger)
    with pytest.raises(EventInvalid) as refused:
        world.act("registry", "add_peer", peer=peer(**changes))
    assert refused.value.field == field, refused.value
    assert list_peers(sqlite_ledger) == []


def test_a_peer_is_another_log_than_this_one_and_every_other_peer(sqlite_ledger: Ledger) -> None:
    world = World(sqlite_ledger)
    own = LogKey.generate(sqlite_ledger.origin)
    cases = [(peer("self", own), "peer_is_self")]
    world.act("registry", "add_peer", peer=peer())
    cases += [(peer("again"), "peer_exists")]
    for event, rule in cases:
        with pytest.raises(RuleViolation) as refused:
            world.act("registry", "add_peer", peer=event)
        assert refused.value.rule == rule
    with pytest.raises(RuleViolation) as refused:
        world.act("registry", "remove_peer", name="nobody", reason="typo")
    assert refused.value.rule == "unknown_peer"
    assert [p.name for p in list_peers(sqlite_ledger)] == ["de"]
