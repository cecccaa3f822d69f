"""Re-serialing an item out of sight: a maker corrects the serial of a pistol under seizure, so that a
scan of the serial stamped on it answers UNKNOWN_ITEM instead of SEIZED. A flagged item's identifying
facts cannot be corrected (`item_flagged`), and a serial a legal correction replaced stays its item's:
a scan of it finds the item, answers its real status and says the serial was corrected."""

from __future__ import annotations

import httpx
from ulid import ULID

from ledger.log.codec import utc_now
from tests.adversarial.conftest import DemoLog


def _post(server: str, demo_log: DemoLog, party: str, envelope: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{server}/v1/events", headers=demo_log.auth(party), json=envelope)


def _item(demo_log: DemoLog, server: str, uid: str) -> dict[str, object]:
    return httpx.get(f"{server}/v1/items/{uid}", headers=demo_log.auth("investigator")).json()


def _scan(demo_log: DemoLog, server: str, code: str) -> dict[str, object]:
    answer = httpx.post(f"{server}/v1/scan", headers=demo_log.auth("de-police"),
                        json={"code": code, "country": "DE", "location": "Frankfurt", "direction": "inland"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _correct(demo_log: DemoLog, server: str, uid: str, serial: str) -> httpx.Response:
    beretta = demo_log.parties["it-beretta"]
    target = _item(demo_log, server, uid)["marked_seq"]
    return _post(server, demo_log, "it-beretta", beretta.envelope("correct", utc_now(), target_seq=target, reason="serial misread",
                                                                  marking={"serial": serial}))


def test_a_seized_pistol_cannot_be_reserialed(demo_log: DemoLog, server: str) -> None:
    uid = demo_log.items["stolen_then_seized"]
    serial = _item(demo_log, server, uid)["serial"]
    answer = _correct(demo_log, server, uid, "PX4-CLEAN-1")
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["rule"] == "item_flagged"
    assert _item(demo_log, server, uid)["serial"] == serial
    assert _scan(demo_log, server, serial)["verdict"] == "SEIZED"
    assert _scan(demo_log, server, "PX4-CLEAN-1")["verdict"] == "UNKNOWN_ITEM"


def test_a_corrected_serial_still_finds_its_item_and_its_real_status(demo_log: DemoLog, server: str) -> None:
    beretta, dealer, police = (demo_log.parties[p] for p in ("it-beretta", "de-jagd-schmidt", "de-police"))
    uid = str(ULID())
    marking = {"maker_code": "BER", "serial": "PX4-OLD-7", "country": "IT", "year": 2026, "make": "Beretta", "model": "APX A1",
               "category": "B", "calibre": "9x19mm"}
    for party, envelope in [
        ("it-beretta", beretta.envelope("mark_firearm", utc_now(), item=uid, marking=marking)),
        ("it-beretta", beretta.envelope("transfer", utc_now(), item=uid, to=dealer.id, reference="IT-DE-7")),
        ("de-jagd-schmidt", dealer.envelope("receive", utc_now(), item=uid)),
    ]:
        assert _post(server, demo_log, party, envelope).status_code == 201
    corrected = _correct(demo_log, server, uid, "PX4-NEW-7")
    assert corrected.status_code == 201, corrected.text
    seized = _post(server, demo_log, "de-police", police.envelope("seize", utc_now(), item=uid, country="DE", place="Frankfurt",
                                                                  reason="sold without licence check"))
    assert seized.status_code == 201, seized.text

    old = _scan(demo_log, server, "PX4-OLD-7")
    assert old["verdict"] == "SEIZED", old["reasons"]
    assert (old["item"]["uid"], old["item"]["serial"]) == (uid, "PX4-NEW-7")
    notes = [reason["detail"] for reason in old["reasons"] if reason["verdict"] == "SERIAL_CORRECTED"]
    assert notes and "PX4-OLD-7" in notes[0] and "PX4-NEW-7" in notes[0]
    new = _scan(demo_log, server, "PX4-NEW-7")
    assert (new["verdict"], new["item"]["uid"]) == ("SEIZED", uid)
    assert not any(reason["verdict"] == "SERIAL_CORRECTED" for reason in new["reasons"])
