from fastapi.testclient import TestClient

from api.app import create_app
from api.keys import create_api_key
from api.managed import create_managed_key
from scanner.claims import claim_problem
from scanner.payload import encode_payload, parse_payload, sign_claim


def test_a_code_holds_only_for_its_own_item_and_facts(demo):
    valid, lost = (demo.ledger.item(demo.result.items[s]) for s in ("valid_firearm", "lost"))
    code = demo.code("valid_firearm")
    assert claim_problem(demo.ledger, code, valid) is None
    assert "not " + lost.uid in claim_problem(demo.ledger, code, lost)
    assert "differ from the marking" in claim_problem(demo.ledger, code.replace("*2024*", "*2023*"), valid)
    genuine = parse_payload(code)
    dealer = demo.result.parties["de-jagd-schmidt"].account
    forged = encode_payload(genuine.host, genuine.item, genuine.facts,
                            sign_claim(dealer, genuine.host, genuine.item, genuine.facts, log_id=genuine.log_id), log_id=genuine.log_id)
    assert "not by a key of it-beretta" in claim_problem(demo.ledger, forged, valid)
    maker = demo.result.parties["it-beretta"].account
    elsewhere = encode_payload(genuine.host, genuine.item, genuine.facts,
                               sign_claim(maker, genuine.host, genuine.item, genuine.facts, log_id="0badc0de"), log_id="0badc0de")
    assert "names the log with key ID 0badc0de as its issuer, not this log" in claim_problem(demo.ledger, elsewhere, valid)
    assert claim_problem(demo.ledger, "hello", valid).startswith("a Tracemark code starts with")


def test_camera_assets_are_served_with_their_mime_types_and_nothing_else(demo):
    client = TestClient(create_app(demo.settings, ledger=demo.ledger))
    assert client.get("/scan").headers["content-type"].startswith("text/html")
    wasm = client.get("/scan/assets/zxing_reader.wasm")
    assert wasm.headers["content-type"] == "application/wasm" and wasm.content[:4] == b"\0asm"
    assert client.get("/scan/assets/zxing-reader.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/scan/assets/..%2Fpackage.json").status_code == 404


def test_the_seize_button_records_a_seizure_with_the_managed_key(tmp_path):
    from ledger.config import Settings
    from tests.scanner.conftest import make_demo

    demo = make_demo(Settings(db_url=f"sqlite:///{tmp_path / 'd.db'}", home=tmp_path / "home", origin="test.tracemark.local/log"))
    create_managed_key(demo.ledger, demo.settings, "de-customs", demo.result.parties["registry"].account, iterations=2**10)
    client = TestClient(create_app(demo.settings, ledger=demo.ledger))
    uid = demo.result.items["valid_firearm"]
    body = {"item": uid, "country": "DE", "place": "FRA cargo", "reason": "no licence shown"}
    police = {"Authorization": "Bearer " + create_api_key(demo.ledger, "de-police", "t").token}
    refused = client.post("/scan/seize", json=body, headers=police)
    assert refused.status_code == 403 and "managed key" in refused.json()["detail"]
    headers = {"Authorization": "Bearer " + create_api_key(demo.ledger, "de-customs", "t").token}
    done = client.post("/scan/seize", json=body, headers=headers)
    assert done.status_code == 200, done.text
    item = demo.ledger.item(uid)
    assert item.status == "seized" and item.seized_by == "de-customs"
