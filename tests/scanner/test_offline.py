import json
from datetime import timedelta

import pytest

from ledger.domain.verdict import advice
from ledger.log.checkpoint import LogKey
from ledger.log.codec import canonical, format_time
from scanner.bundle import FORMAT, export_bundle, load_bundle, write_bundle
from scanner.errors import BundleError
from scanner.markings import issue_marking
from scanner.offline import STALE, verify_offline
from scanner.payload import DEFAULT_HOST, encode_payload, parse_payload, sign_claim
from tests.conftest import NOW
from tests.support import World


@pytest.fixture
def world(ledger):
    return World(ledger)


def _code(world, uid, maker="it-beretta"):
    return issue_marking(world.ledger, uid, world.parties[maker].account).payload


def _bundle(world, tmp_path, host=DEFAULT_HOST):
    path = tmp_path / "bundle.json"
    write_bundle(world.ledger, path, host)
    return load_bundle(path, world.ledger.log_key.verifier_key, world.ledger.origin)


def _signed_by(world, party, code):
    """`code`'s claim, signed with `party`'s key instead of its maker's."""
    genuine = parse_payload(code)
    signature = sign_claim(world.parties[party].account, genuine.host, genuine.item, genuine.facts, log_id=genuine.log_id)
    return encode_payload(genuine.host, genuine.item, genuine.facts, signature, log_id=genuine.log_id)


def test_valid_code_shows_the_facts(world, tmp_path):
    uid = world.firearm(serial="PX4-KE-1")
    code = _code(world, uid)
    verdict = verify_offline(code, _bundle(world, tmp_path), NOW)
    assert verdict.verdict == "VALID" and verdict.reasons == () and verdict.warnings == ()
    assert verdict.marked_by == "it-beretta"
    assert verdict.facts == {"kind": "firearm", "maker_code": "BER", "serial": "PX4-KE-1", "country": "IT", "year": 2025}


def test_a_tampered_fact_is_signature_invalid(world, tmp_path):
    code = _code(world, world.firearm(serial="PX4-KE-2"))
    forged = code.replace("*PX4-KE-2*", "*PX4-KE-3*")
    verdict = verify_offline(forged, _bundle(world, tmp_path), NOW)
    assert verdict.verdict == "SIGNATURE_INVALID"
    assert verdict.facts["serial"] == "PX4-KE-3"


def test_a_tampered_signature_is_signature_invalid(world, tmp_path):
    code = _code(world, world.firearm())
    head, signature = code.rsplit("/", 1)
    flipped = "A" if signature[10] != "A" else "B"
    verdict = verify_offline(f"{head}/{signature[:10]}{flipped}{signature[11:]}", _bundle(world, tmp_path), NOW)
    assert verdict.verdict == "SIGNATURE_INVALID"


def test_a_code_signed_by_a_party_not_entitled_to_mark_is_signature_invalid(world, tmp_path):
    forged = _signed_by(world, "de-jagd-schmidt", _code(world, world.firearm()))
    verdict = verify_offline(forged, _bundle(world, tmp_path), NOW)
    assert verdict.verdict == "SIGNATURE_INVALID" and "dealer" in verdict.reasons[0].detail


def test_a_maker_signing_another_makers_firearm_is_signature_invalid(world, tmp_path):
    world.firearm()
    glock = _code(world, world.firearm(maker="at-glock"), maker="at-glock")
    bundle = _bundle(world, tmp_path)
    assert bundle.parties["at-glock"].maker_codes == ("GLK",) and bundle.parties["it-beretta"].maker_codes == ("BER",)
    assert verify_offline(glock, bundle, NOW).verdict == "VALID"
    verdict = verify_offline(_signed_by(world, "it-beretta", glock), bundle, NOW)
    assert verdict.verdict == "SIGNATURE_INVALID" and verdict.marked_by is None
    assert "it-beretta" in verdict.reasons[0].detail and "not GLK" in verdict.reasons[0].detail


def test_a_permit_authority_signing_for_another_countrys_permit_is_signature_invalid(world, tmp_path):
    code = _code(world, world.specimen(world.issue_permit()), maker="ke-kws")
    verdict = verify_offline(_signed_by(world, "de-bfn", code), _bundle(world, tmp_path), NOW)
    assert verdict.verdict == "SIGNATURE_INVALID" and "permit authority of DE" in verdict.reasons[0].detail


def test_a_code_is_valid_only_at_the_host_the_bundle_vouches_for(world, tmp_path):
    uid = world.firearm()
    code = issue_marking(world.ledger, uid, world.parties["it-beretta"].account, host="scan.example.org:8443").payload
    assert verify_offline(code, _bundle(world, tmp_path, host="SCAN.example.org:8443"), NOW).verdict == "VALID"
    verdict = verify_offline(code, _bundle(world, tmp_path), NOW)
    assert verdict.verdict == "SIGNATURE_INVALID"
    assert verdict.reasons[0].detail.startswith(f"the code points to SCAN.EXAMPLE.ORG:8443, not to {DEFAULT_HOST}")
    with pytest.raises(BundleError, match="not a host name"):
        export_bundle(world.ledger, "https://scan.example.org/")


def test_a_revoked_marking_key_is_key_revoked(world, tmp_path):
    code = _code(world, world.firearm())
    address = world.parties["it-beretta"].account.address
    world.act("registry", "revoke_key", party="it-beretta", address=address,
              from_time=format_time(world.clock), reason="key lost with a laptop")
    verdict = verify_offline(code, _bundle(world, tmp_path), NOW)
    assert verdict.verdict == "KEY_REVOKED" and address in verdict.reasons[0].detail


@pytest.mark.parametrize("event, fields, verdict", [
    ("report_stolen", {"place": "Frankfurt", "details": "burglary"}, "REPORTED_LOST_STOLEN"),
    ("seize", {"country": "DE", "place": "FRA", "reason": "no papers"}, "SEIZED"),
])
def test_a_flagged_item_gets_its_verdict(world, tmp_path, event, fields, verdict):
    uid = world.firearm()
    code = _code(world, uid)
    world.ship(uid, "it-beretta", "de-jagd-schmidt")
    world.act("de-police", event, item=uid, **fields)
    found = verify_offline(code, _bundle(world, tmp_path), NOW)
    assert found.verdict == verdict and found.item == uid


def test_a_stale_bundle_warns_but_still_judges(world, tmp_path):
    code = _code(world, world.firearm())
    bundle = _bundle(world, tmp_path)
    fresh = verify_offline(code, bundle, NOW + timedelta(hours=71), max_age=timedelta(hours=72))
    stale = verify_offline(code, bundle, NOW + timedelta(hours=73), max_age=timedelta(hours=72))
    assert fresh.warnings == () and fresh.verdict == "VALID"
    assert stale.warnings == (STALE,) and stale.verdict == "VALID"
    assert any(r.verdict == STALE for r in stale.reasons)


def test_malformed_text_is_malformed_code(world, tmp_path):
    verdict = verify_offline("https://example.com/", _bundle(world, tmp_path), NOW)
    assert verdict.verdict == "MALFORMED_CODE" and "/I/" in verdict.reasons[0].detail


def test_a_specimen_code_signed_by_the_permit_authority_is_valid(world, tmp_path):
    uid = world.specimen(world.issue_permit())
    code = _code(world, uid, maker="ke-kws")
    verdict = verify_offline(code, _bundle(world, tmp_path), NOW)
    assert verdict.verdict == "VALID" and verdict.facts["permit"] == "KE-2026-EX-0001"


def test_bundle_size_grows_with_flagged_items_not_with_the_log(world):
    for _ in range(30):
        world.ship(world.firearm(), "it-beretta", "de-jagd-schmidt")
    before = len(json.dumps(export_bundle(world.ledger)))
    uid = world.firearm()
    world.act("it-beretta", "report_lost", item=uid, place="plant", details="missing")
    after = export_bundle(world.ledger)
    assert after["body"]["flagged_items"] == [{"item": uid, "status": "lost"}]
    assert 0 < len(json.dumps(after)) - before < 200


def test_a_bundle_edited_after_signing_or_signed_by_another_key_is_refused(world, tmp_path):
    uid = world.firearm()
    world.act("it-beretta", "report_lost", item=uid, place="plant", details="missing")
    document = export_bundle(world.ledger)
    assert document["body"]["format"] == FORMAT
    vkey = world.ledger.log_key.verifier_key
    cleared = json.loads(json.dumps(document))
    cleared["body"]["flagged_items"] = []
    with pytest.raises(BundleError, match="does not verify"):
        load_bundle(cleared, vkey)
    other = LogKey.generate(world.ledger.log_key.name).verifier_key
    with pytest.raises(BundleError, match="no signature by|does not verify"):
        load_bundle(document, other)
    assert load_bundle(document, vkey).flagged == {uid: "lost"}


def _reissued(world, code, version, log_id=None, party="it-beretta"):
    """`code`'s claim signed again by `party` as a code of format `version` (version 3: naming the log `log_id`)."""
    genuine = parse_payload(code)
    log_id = (log_id or genuine.log_id) if version == 3 else None
    signature = sign_claim(world.parties[party].account, genuine.host, genuine.item, genuine.facts, version, log_id=log_id)
    return encode_payload(genuine.host, genuine.item, genuine.facts, signature, version, log_id=log_id)


def test_codes_of_every_format_of_one_item_get_the_same_verdict(world, tmp_path):
    valid, stolen = world.firearm(), world.firearm()
    codes = {uid: _code(world, uid) for uid in (valid, stolen)}
    world.ship(stolen, "it-beretta", "de-jagd-schmidt")
    world.act("de-police", "report_stolen", item=stolen, place="Frankfurt", details="burglary")
    bundle = _bundle(world, tmp_path)
    for uid, verdict in ((valid, "VALID"), (stolen, "REPORTED_LOST_STOLEN")):
        assert parse_payload(codes[uid]).log_id == bundle.log_id == world.ledger.log_key.key_hash.hex()
        for version in (1, 2, 3):
            found = verify_offline(_reissued(world, codes[uid], version), bundle, NOW)
            assert (found.verdict, found.item, found.marked_by) == (verdict, uid, "it-beretta"), (version, found)


def test_a_code_of_another_log_is_foreign_and_a_changed_log_id_is_a_forgery(world, tmp_path):
    uid = world.firearm()
    code = _code(world, uid)
    bundle = _bundle(world, tmp_path)
    other = LogKey.generate("other.example/log").key_hash.hex()
    foreign = encode_payload(DEFAULT_HOST, "01JD0000000000000000000000", parse_payload(code).facts, bytes(65), log_id=other)
    verdict = verify_offline(foreign, bundle, NOW)
    assert verdict.verdict == "FOREIGN_LOG" and verdict.item == "01JD0000000000000000000000"
    assert other in verdict.reasons[0].detail and bundle.log_id in verdict.reasons[0].detail
    assert advice("FOREIGN_LOG").startswith("Issued by another country's log")
    # a maker of this log may mark for another log too: its code there is that log's to judge
    assert verify_offline(_reissued(world, foreign, 3, other), bundle, NOW).verdict == "FOREIGN_LOG"
    # this log's genuine code with another log's ID: the signature no longer holds, and the item is still judged here
    altered = code.replace(f"*{bundle.log_id.upper()}/", f"*{other.upper()}/")
    assert altered != code and parse_payload(altered).log_id == other
    verdict = verify_offline(altered, bundle, NOW)
    assert verdict.verdict == "SIGNATURE_INVALID" and "log ID was altered" in verdict.reasons[0].detail


def test_a_bundle_names_its_logs_key_and_the_format_before_still_loads(world):
    world.firearm()
    document = export_bundle(world.ledger)
    vkey = world.ledger.log_key.verifier_key
    assert document["body"]["vkey"] == vkey
    assert load_bundle(document, vkey).log_id == vkey.split("+")[1]
    earlier = {key: value for key, value in document["body"].items() if key != "vkey"} | {"format": "tracemark-trust-bundle/3"}
    text = canonical(earlier).decode() + "\n"
    resigned = {"body": earlier, "signatures": world.ledger.log_key.sign_note(text)[len(text) + 1:]}
    assert load_bundle(resigned, vkey).log_id == vkey.split("+")[1]
    other = LogKey.generate(world.ledger.log_key.name)
    named = document["body"] | {"vkey": other.verifier_key}
    text = canonical(named).decode() + "\n"
    with pytest.raises(BundleError, match="names log key"):
        load_bundle({"body": named, "signatures": world.ledger.log_key.sign_note(text)[len(text) + 1:]}, vkey)
