"""Times out of range: instants that exist in their own offset but not in UTC, and positions past any log.

`0001-01-01T00:00:00+01:00` is a valid RFC 3339 time whose UTC instant falls before year 1;
converting it overflowed and answered 500, in an event as in `?since=`. Every such input is a
422 problem naming the field, and nothing is appended.
"""

from __future__ import annotations

import httpx
import pytest

from ledger.log.signatures import sign_event
from tests.adversarial.conftest import DemoLog

OUT_OF_RANGE = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:59:59.999+01:00"]
PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, field: str | None = None) -> dict:
    assert response.status_code == 422, (response.request.url, response.status_code, response.text[:300])
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    if field is not None:
        assert body.get("field") == field or field in body["detail"], body
    return body


@pytest.mark.parametrize("time", OUT_OF_RANGE)
def test_an_event_time_out_of_range_is_422_and_appends_nothing(server: str, demo_log: DemoLog, time: str):
    size = httpx.get(server + "/v1/entries", headers=demo_log.auth("investigator")).json()["size"]
    police = demo_log.parties["de-police"]
    uid = next(iter(demo_log.items.values()))
    event = {"type": "inspect", "actor": police.id, "time": time, "item": uid, "country": "DE", "location": "FRA",
             "direction": "import", "verdict": "VALID"}
    assert_problem(httpx.post(server + "/v1/events", json=sign_event(police.account, event, origin=demo_log.settings.origin), headers=demo_log.auth("de-police")), "time")
    batch = {"envelopes": [sign_event(police.account, event, origin=demo_log.settings.origin)]}
    assert_problem(httpx.post(server + "/v1/events:batch", json=batch, headers=demo_log.auth("de-police")))
    assert httpx.get(server + "/v1/entries", headers=demo_log.auth("investigator")).json()["size"] == size


@pytest.mark.parametrize("time", OUT_OF_RANGE)
def test_since_out_of_range_is_422_on_the_api_and_the_pages(server: str, demo_log: DemoLog, time: str):
    headers = demo_log.auth("investigator")
    assert_problem(httpx.get(server + "/v1/investigations/diversion", params={"since": time}, headers=headers), "since")
    assert_problem(httpx.get(server + "/investigations/flows", params={"since": time}, headers=headers), "since")


@pytest.mark.parametrize("route", ["/v1/epcis/events?start={n}", "/v1/entries?start={n}", "/v1/entries?end={n}",
                                   "/v1/proofs/inclusion?seq={n}&size={n}", "/v1/proofs/consistency?old=1&new={n}"])
def test_a_position_past_any_log_is_a_4xx_problem(server: str, demo_log: DemoLog, route: str):
    for n in (10**20, 2**63, -(2**63) - 1):
        response = httpx.get(server + route.format(n=n), headers=demo_log.auth("investigator"))
        assert 400 <= response.status_code < 500, (route, n, response.status_code, response.text[:300])
        assert response.headers["content-type"] == PROBLEM
