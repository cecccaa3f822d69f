"""The multi-log bundle without servers: two logs in this process, the peer's bundle as it serves it to
peers, the home log's document over both, and the forgeries a scanner must refuse."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import Peer, Policy
from ledger.config import Settings, init_log
from ledger.log.checkpoint import LogKey, parse_checkpoint
from ledger.log.codec import canonical
from ledger.log.cosignature import ED25519, CosignerKey, verify_cosignatures
from ledger.store.ledger import Ledger
from ledger.witness.cosigners import add_witness, record_cosignatures
from scanner.bundle import export_bundle, sign_body
from scanner.errors import BundleError
from scanner.markings import issue_marking
from scanner.multilog import MULTI_FORMAT, MissingPeer, MultiLogBundle, PeerBundle, load_multi, multi_log_document
from scanner.offline import STALE, verify_offline
from scanner.payload import DEFAULT_HOST, encode_payload, parse_payload
from tests.conftest import NOW
from tests.support import World


@dataclass
class Log:
    world: World
    name: str

    @property
    def ledger(self) -> Ledger:
        return self.world.ledger

    @property
    def vkey(self) -> str:
        assert self.ledger.log_key is not None
        return self.ledger.log_key.verifier_key

    def code(self, uid: str, maker: str = "it-beretta") -> str:
        return issue_marking(self.ledger, uid, self.world.parties[maker].account).payload

    def as_peer(self) -> Peer:
        return Peer(self.name, self.ledger.origin, self.vkey, "http://127.0.0.1:9", self.name.upper(), (), 0)


def _log(tmp_path: Path, name: str) -> Log:
    settings = Settings(db_url=f"sqlite:///{tmp_path / f'{name}.db'}", home=tmp_path / name, origin=f"registry.{name}.example/log")
    ledger = init_log(settings)
    ledger.clock = lambda: NOW
    return Log(World(ledger), name)


@pytest.fixture
def logs(tmp_path: Path) -> tuple[Log, Log]:
    """Kenya's log (home) and Germany's (its peer)."""
    return _log(tmp_path, "ke"), _log(tmp_path, "de")


def _document(home: Log, peer: Log, policy: Policy | None = None, missing: tuple[MissingPeer, ...] = ()) -> dict[str, Any]:
    fetched = PeerBundle(peer.as_peer(), peer.vkey, export_bundle(peer.ledger, for_peer=True))
    return multi_log_document(home.ledger, [fetched], missing, policy)


def _resigned(home: Log, document: dict[str, Any]) -> dict[str, Any]:
    """`document`'s body, edited, signed again by the home log: what a home log that vouched for it would hand out."""
    return sign_body(home.ledger, json.loads(json.dumps(document["body"])))


def test_each_code_is_judged_by_the_bundle_of_its_log(logs: tuple[Log, Log]) -> None:
    ke, de = logs
    mine, clean, stolen = ke.world.firearm(), de.world.firearm(), de.world.firearm()
    de.world.act("de-police", "report_stolen", item=stolen, place="Frankfurt", details="burglary, case 2026/77")
    codes = {uid: log.code(uid) for log, uid in ((ke, mine), (de, clean), (de, stolen))}
    trust = load_multi(_document(ke, de), ke.vkey)
    assert isinstance(trust, MultiLogBundle) and [b.origin for b in trust.bundles] == [ke.ledger.origin, de.ledger.origin]
    for uid, verdict, origin in ((mine, "VALID", ke.ledger.origin), (clean, "VALID", de.ledger.origin),
                                 (stolen, "REPORTED_LOST_STOLEN", de.ledger.origin)):
        found = verify_offline(codes[uid], trust, NOW)
        assert (found.verdict, found.item, found.log, found.marked_by) == (verdict, uid, origin, "it-beretta"), found
    # Kenya's bundle alone knows no German code; Germany's parties cannot vouch for a Kenyan item
    assert verify_offline(codes[stolen], trust.home, NOW).verdict == "FOREIGN_LOG"
    assert verify_offline(codes[mine], trust.peers["de"], NOW).verdict == "FOREIGN_LOG"


def test_a_code_of_a_log_not_in_the_bundle_is_foreign_and_a_missing_peer_is_named(logs: tuple[Log, Log]) -> None:
    ke, de = logs
    code = parse_payload(de.code(de.world.firearm()))
    fr = LogKey.generate("registry.fr.example/log")
    foreign = encode_payload(DEFAULT_HOST, code.item, code.facts, bytes(65), log_id=fr.key_hash.hex())
    missing = MissingPeer("fr", fr.name, fr.verifier_key, "peer fr did not answer usably: no answer within 2 s")
    trust = load_multi(_document(ke, de, missing=(missing,)), ke.vkey)
    found = verify_offline(foreign, trust, NOW)
    assert found.verdict == "FOREIGN_LOG" and found.log == ke.ledger.origin
    detail = found.reasons[0].detail
    assert ke.ledger.origin in detail and de.ledger.origin in detail and "peer fr" in detail and "within 2 s" in detail
    # the German log's genuine code with its log ID changed is still Germany's item, and a forgery
    altered = encode_payload(code.host, code.item, code.facts, code.signature, log_id=fr.key_hash.hex())
    found = verify_offline(altered, trust, NOW)
    assert found.verdict == "SIGNATURE_INVALID" and found.log == de.ledger.origin and "log ID was altered" in found.reasons[0].detail


def test_each_bundle_is_stale_by_its_own_age(logs: tuple[Log, Log]) -> None:
    ke, de = logs
    codes = {log.name: log.code(log.world.firearm()) for log in (ke, de)}
    de.ledger.clock = lambda: NOW - timedelta(days=4)  # Germany's bundle was made four days before Kenya's
    trust = load_multi(_document(ke, de), ke.vkey)
    home, peer = (verify_offline(codes[name], trust, NOW + timedelta(hours=1)) for name in ("ke", "de"))
    assert home.verdict == peer.verdict == "VALID"
    assert home.warnings == () and peer.warnings == (STALE,)
    assert any(r.verdict == STALE and de.ledger.origin in r.detail for r in peer.reasons)


def test_a_peers_bundle_withholds_the_receiver_and_detail_of_held_items(logs: tuple[Log, Log]) -> None:
    ke, de = logs
    uid = de.world.firearm()
    code = de.code(uid)
    de.world.act("it-beretta", "transfer", item=uid, to="de-jagd-schmidt", reference="REF-9")
    de.world.act("de-police", "report_stolen", item=uid, place="Frankfurt", details="lost in transit, case 2026/78")
    [own] = export_bundle(de.ledger)["body"]["held_items"]
    [shared] = export_bundle(de.ledger, for_peer=True)["body"]["held_items"]
    assert own["pending_to"] == "de-jagd-schmidt" and "case 2026/78" not in own["diversion_detail"]
    assert shared == {"item": uid, "pending_since": own["pending_since"], "diversion_kind": "unreceived_transfer"}
    found = verify_offline(code, load_multi(_document(ke, de), ke.vkey), NOW + timedelta(days=30))
    assert found.verdict == "REPORTED_LOST_STOLEN"
    assert {"TRANSFER_NOT_RECEIVED", "REPORTED_LOST_STOLEN"} <= {r.verdict for r in found.reasons}
    assert not any("de-jagd-schmidt" in r.detail for r in found.reasons)
    assert any("left the legal chain (unreceived_transfer); its log shares no detail" in r.detail for r in found.reasons), found


def test_a_tampered_peer_bundle_is_refused_naming_the_peer(logs: tuple[Log, Log]) -> None:
    ke, de = logs
    stolen = de.world.firearm()
    de.world.act("de-police", "report_stolen", item=stolen, place="Frankfurt", details="burglary")
    document = _document(ke, de)
    cleared = json.loads(json.dumps(document))
    cleared["body"]["peers"][0]["bundle"]["body"]["flagged_items"] = []
    with pytest.raises(BundleError, match="log signature does not hold"):  # the home log's signature covers it
        load_multi(cleared, ke.vkey)
    with pytest.raises(BundleError, match="the bundle of peer de is refused: the bundle's log signature does not hold"):
        load_multi(_resigned(ke, cleared), ke.vkey)


def test_a_peer_bundle_signed_by_another_key_or_a_swapped_peer_key_is_refused(logs: tuple[Log, Log]) -> None:
    ke, de = logs
    document = _document(ke, de)
    impostor = LogKey.generate(de.ledger.origin)
    inner = document["body"]["peers"][0]["bundle"]
    text = canonical(inner["body"] | {"vkey": impostor.verifier_key}).decode() + "\n"
    forged = json.loads(json.dumps(document))
    forged["body"]["peers"][0]["bundle"] = {"body": json.loads(text), "signatures": impostor.sign_note(text)[len(text) + 1:]}
    with pytest.raises(BundleError, match="the bundle of peer de is refused"):
        load_multi(_resigned(ke, forged), ke.vkey)
    swapped = json.loads(json.dumps(document))
    swapped["body"]["policy"] = swapped["body"]["policy"].replace(de.vkey, impostor.verifier_key)
    assert swapped["body"]["policy"] != document["body"]["policy"]
    with pytest.raises(BundleError, match="log signature does not hold"):
        load_multi(swapped, ke.vkey)
    with pytest.raises(BundleError, match="the bundle of peer de is refused"):  # the home log named the wrong key
        load_multi(_resigned(ke, swapped), ke.vkey)
    unnamed = json.loads(json.dumps(document))
    unnamed["body"]["policy"] = f"log {ke.vkey}\nquorum none\n"
    with pytest.raises(BundleError, match="names no key for its log 'registry.de.example/log'"):
        load_multi(_resigned(ke, unnamed), ke.vkey)


def test_a_document_signed_by_another_log_or_holding_one_log_twice_is_refused(logs: tuple[Log, Log]) -> None:
    ke, de = logs
    document = _document(ke, de)
    with pytest.raises(BundleError, match="log signature does not hold"):
        load_multi(document, de.vkey)
    twice = json.loads(json.dumps(document))
    twice["body"]["peers"].append(twice["body"]["peers"][0] | {"name": "de2"})
    with pytest.raises(BundleError, match="two bundles of one log"):
        load_multi(_resigned(ke, twice), ke.vkey)
    assert load_multi(document, None, Policy.parse(f"log {ke.vkey}\nquorum none\n")).origin == ke.ledger.origin


def test_every_checkpoint_must_meet_the_quorum_of_the_document_and_of_the_scanner(logs: tuple[Log, Log]) -> None:
    ke, de = logs
    witness = CosignerKey.generate("w1.example", ED25519)
    checkpoint = ke.ledger.checkpoint()  # the witness cosigned Kenya's checkpoint, never Germany's
    add_witness(ke.ledger, "w1", witness.vkey, "http://127.0.0.1:9/w1")
    line = witness.cosign(parse_checkpoint(checkpoint.note))
    record_cosignatures(ke.ledger, "w1", checkpoint, verify_cosignatures(checkpoint.note + line, [witness.verifier])[1])
    quorum = Policy.parse(f"witness W1 {witness.vkey}\nquorum W1\n")
    with pytest.raises(BundleError, match="the bundle of peer de is refused: the bundle's checkpoint fails the policy: quorum W1"):
        _document(ke, de, policy=quorum)  # never written: the export checks what it hands out
    document = _document(ke, de)
    assert document["body"]["format"] == MULTI_FORMAT and document["body"]["policy"].endswith("quorum none\n")
    assert load_multi(document, ke.vkey).home.cosigned_by == ()
    with pytest.raises(BundleError, match="the bundle of peer de is refused: .*quorum W1 not met"):
        load_multi(document, ke.vkey, quorum)  # the scanner's own policy asks more than the document
    strict = json.loads(json.dumps(document))
    strict["body"]["policy"] = strict["body"]["policy"].replace("quorum none", f"witness W1 {witness.vkey}\nquorum W1")
    with pytest.raises(BundleError, match="the bundle of peer de is refused: .*quorum W1 not met"):
        load_multi(_resigned(ke, strict), ke.vkey)
