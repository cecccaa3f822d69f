"""Reading what you may not: event bodies without a key, another country's items, another party's events.

Replayed over plain HTTP against a real `tracemark serve` on the demo log, whose events carry
seizure case numbers, a court order, theft details, licence numbers and a private owner.
"""

from __future__ import annotations

import httpx
import pytest

SECRETS = ["LG-2026-0311", "OF-2026-17", "12 Js 33/26", "burglary", "-LIC-", "Max Mustermann", "Hauptstrasse", "WBK 4711"]
"""What the demo's event bodies and personal records hold that no public answer may show."""


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_anonymous_entries_are_refused_and_the_public_answers_hold_no_event_body(server, demo_log):  # noqa: ANN001
    entries = httpx.get(f"{server}/v1/entries")
    assert entries.status_code == 401 and entries.headers["content-type"].startswith("application/problem+json")
    assert leaked(entries.text) == []
    size = httpx.get(f"{server}/readyz").json()["size"]
    public = ["/v1/checkpoint", f"/v1/proofs/inclusion?seq=0&size={size}", f"/v1/proofs/consistency?old=1&new={size}", "/scan"]
    for story in ("stolen_then_seized", "destroyed", "lost", "specimen_seized"):
        uid = demo_log.items[story]
        public += [f"/i/{uid}", f"/I/{uid}/NOT-A-CODE"]
    for path in public:
        response = httpx.get(server + path)
        assert response.status_code == 200, (path, response.text[:200])
        assert leaked(response.text) == [], path
    audited = httpx.get(f"{server}/v1/entries?start=0&end=1000", headers=demo_log.auth("investigator"))
    assert audited.status_code == 200 and "LG-2026-0311" in audited.text  # the secrets are there to be leaked


@pytest.mark.parametrize("path", ["/v1/trace/{uid}", "/v1/epcis/events?item={uid}", "/v1/items/{uid}/events",
                                  "/investigations/items/{uid}"])
def test_a_kenyan_customs_officer_cannot_read_a_german_item(server, demo_log, path):  # noqa: ANN001
    url = server + path.format(uid=demo_log.items["valid_firearm"])  # marked in Italy, held by a German dealer
    refused = httpx.get(url, headers=demo_log.auth("ke-customs"))
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    assert "KE" in refused.json()["detail"] and "-LIC-" not in refused.text
    assert httpx.get(url, headers=demo_log.auth("de-customs")).status_code == 200
    assert httpx.get(url, headers=demo_log.auth("investigator")).status_code == 200


def test_the_kenyan_officer_reads_the_kenyan_skins_and_only_kenya_across_items(server, demo_log):  # noqa: ANN001
    skin = demo_log.items["specimen_seized"]  # exported from Kenya, seized in Germany
    assert httpx.get(f"{server}/v1/trace/{skin}", headers=demo_log.auth("ke-customs")).status_code == 200
    assert httpx.get(f"{server}/v1/epcis/events", headers=demo_log.auth("ke-customs")).status_code == 403
    assert httpx.get(f"{server}/v1/investigations/diversion?country=DE", headers=demo_log.auth("ke-customs")).status_code == 403
    kenya = httpx.get(f"{server}/v1/investigations/diversion", headers=demo_log.auth("ke-customs")).json()
    assert all("KE" in (route["origin"], route["found"]) for route in kenya["routes"])


def test_a_dealer_reads_its_own_events_and_not_the_police_case_that_followed(server, demo_log):  # noqa: ANN001
    uid = demo_log.items["stolen_then_seized"]  # sold by the German dealer, stolen from the owner, seized in Belgium
    own = httpx.get(f"{server}/v1/items/{uid}/events", headers=demo_log.auth("de-jagd-schmidt"))
    assert own.status_code == 200 and {e["actor"] for e in own.json()["events"]} <= {"de-jagd-schmidt", "it-beretta"}
    assert leaked(own.text) == ["WBK 4711"]  # its own sale's reference, nothing of the theft or the seizure
    stranger = httpx.get(f"{server}/v1/items/{uid}/events", headers=demo_log.auth("be-armurerie"))
    assert stranger.status_code == 403 and leaked(stranger.text) == []
