"""Customs and police acting abroad: Kenyan customs seizing or inspecting a firearm a German dealer
holds in Germany, through the camera page's `POST /scan/seize`, `POST /v1/events` and `POST /v1/scan`.
Each is refused (`wrong_country`) and the item stays as it was."""

from __future__ import annotations

import httpx
import pytest

from api.managed import create_managed_key
from ledger.config import open_ledger
from ledger.log.codec import utc_now
from tests.adversarial.conftest import DemoLog

HELD_IN_GERMANY = "valid_firearm"  # Beretta's, received by the German dealer de-jagd-schmidt


@pytest.fixture(scope="module")
def managed_customs(demo_log: DemoLog) -> str:
    """Kenyan customs with a server-held key, as the camera page and managed scans need."""
    ledger = open_ledger(demo_log.settings)
    create_managed_key(ledger, demo_log.settings, "ke-customs", demo_log.parties["ke-customs"].account, iterations=2**10)
    ledger.db.dispose()
    return "ke-customs"


def _status(demo_log: DemoLog, server: str, uid: str) -> str:
    return httpx.get(f"{server}/v1/items/{uid}", headers=demo_log.auth("investigator")).json()["status"]


def _refused_abroad(answer: httpx.Response) -> None:
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["rule"] == "wrong_country"


@pytest.mark.parametrize("country", ["KE", "DE"])
def test_kenyan_customs_cannot_seize_through_the_camera_page(demo_log: DemoLog, server: str, managed_customs: str,
                                                             country: str) -> None:
    uid = demo_log.items[HELD_IN_GERMANY]
    answer = httpx.post(f"{server}/scan/seize", headers=demo_log.auth(managed_customs),
                        json={"item": uid, "country": country, "place": "JKIA cargo", "reason": "suspicion"})
    _refused_abroad(answer)
    assert _status(demo_log, server, uid) == "active"


@pytest.mark.parametrize("country", ["KE", "DE"])
def test_kenyan_customs_cannot_seize_with_its_own_signed_event(demo_log: DemoLog, server: str, country: str) -> None:
    uid = demo_log.items[HELD_IN_GERMANY]
    envelope = demo_log.parties["ke-customs"].envelope("seize", utc_now(), item=uid, country=country, place="JKIA cargo",
                                                       reason="suspicion")
    _refused_abroad(httpx.post(f"{server}/v1/events", headers=demo_log.auth("ke-customs"), json=envelope))
    assert _status(demo_log, server, uid) == "active"


def test_a_scan_abroad_answers_but_records_no_inspection(demo_log: DemoLog, server: str, managed_customs: str) -> None:
    """The verdict is still given (anyone may be shown a code); the inspection, naming Germany, is not recorded."""
    answer = httpx.post(f"{server}/v1/scan", headers=demo_log.auth(managed_customs),
                        json={"code": demo_log.items[HELD_IN_GERMANY], "country": "DE", "location": "Frankfurt", "direction": "inland"})
    assert answer.status_code == 200, answer.text
    inspection = answer.json()["inspection"]
    assert not inspection["recorded"] and "wrong_country" in inspection["detail"]


def test_german_police_seize_what_is_held_in_germany(demo_log: DemoLog, server: str) -> None:
    """The rule keeps each authority at home, not out of its own country."""
    uid = demo_log.items["bulk_first"]  # held by de-jagd-schmidt
    envelope = demo_log.parties["de-police"].envelope("seize", utc_now(), item=uid, country="DE", place="Frankfurt", reason="check")
    answer = httpx.post(f"{server}/v1/events", headers=demo_log.auth("de-police"), json=envelope)
    assert answer.status_code == 201, answer.text
    assert _status(demo_log, server, uid) == "seized"
