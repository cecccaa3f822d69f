"""Questions over real HTTP, against a `tracemark serve` process on the demo log: a border scan
under the wrong direction raises a question (no diversion), an investigator settles it with a
signed event through `POST /v1/events`, and `GET /v1/investigations/questions` lists them by state."""

from __future__ import annotations

import httpx
import pytest

from api.managed import create_managed_key
from ledger.config import open_ledger
from ledger.log.codec import utc_now
from tests.adversarial.conftest import DemoLog, make_demo_log
from tests.reliability.processes import api_server

HELD_IN_GERMANY = "valid_firearm"  # Beretta's, received by the German dealer de-jagd-schmidt


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> DemoLog:
    log = make_demo_log(tmp_path_factory.mktemp("questions"))
    ledger = open_ledger(log.settings)
    create_managed_key(ledger, log.settings, "de-customs", log.parties["de-customs"].account, iterations=2**10)
    ledger.db.dispose()
    return log


@pytest.fixture(scope="module")
def server(demo_log: DemoLog):  # noqa: ANN201
    with api_server(demo_log.settings, demo_log.settings.home.parent / "server.log") as url:
        yield url


def _questions(demo_log: DemoLog, server: str, party: str = "investigator", **params: str) -> list[dict]:
    answer = httpx.get(f"{server}/v1/investigations/questions", headers=demo_log.auth(party), params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _hotspots(demo_log: DemoLog, server: str) -> dict[str, int]:
    answer = httpx.get(f"{server}/v1/investigations/diversion", headers=demo_log.auth("investigator")).json()
    return {hotspot["party"]: hotspot["items"] for hotspot in answer["hotspots"]}


def _scan(demo_log: DemoLog, server: str, direction: str) -> dict:
    answer = httpx.post(f"{server}/v1/scan", headers=demo_log.auth("de-customs"),
                        json={"code": demo_log.items[HELD_IN_GERMANY], "country": "DE", "location": "FRA cargo", "direction": direction})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_demos_unreceived_transfer_is_an_open_question(demo_log: DemoLog, server: str) -> None:
    [question] = [q for q in _questions(demo_log, server) if q["uid"] == demo_log.items["never_received"]]
    assert (question["kind"], question["state"], question["country"]) == ("unreceived_transfer", "open", "BE")


def test_a_wrong_direction_scan_then_a_valid_one_raises_a_question_an_investigator_confirms(demo_log: DemoLog, server: str) -> None:
    uid = demo_log.items[HELD_IN_GERMANY]
    before = _hotspots(demo_log, server)
    flagged = _scan(demo_log, server, "export")
    assert flagged["verdict"] != "VALID"
    assert _scan(demo_log, server, "inland")["verdict"] == "VALID"

    [question] = [q for q in _questions(demo_log, server) if q["uid"] == uid]
    assert (question["kind"], question["holder"], question["country"]) == ("undeclared_crossing", "de-jagd-schmidt", "DE")
    assert _hotspots(demo_log, server) == before
    trace = httpx.get(f"{server}/v1/trace/{uid}", headers=demo_log.auth("investigator")).json()
    assert trace["diversion"] is None and any(f"entry {question['seq']}" in text for text in trace["open_questions"])

    confirm = demo_log.parties["investigator"].envelope("confirm_finding", utc_now(), item=uid, question_seq=question["seq"],
                                                        reason="no export declared")
    answer = httpx.post(f"{server}/v1/events", headers=demo_log.auth("investigator"), json=confirm)
    assert answer.status_code in (200, 201), answer.text

    assert [q["seq"] for q in _questions(demo_log, server, state="confirmed") if q["uid"] == uid] == [question["seq"]]
    assert not [q for q in _questions(demo_log, server) if q["uid"] == uid]
    assert _hotspots(demo_log, server).get("de-jagd-schmidt", 0) == before.get("de-jagd-schmidt", 0) + 1
    trace = httpx.get(f"{server}/v1/trace/{uid}", headers=demo_log.auth("investigator")).json()
    assert (trace["diversion"]["seq"], trace["diversion"]["kind"]) == (question["seq"], "undeclared_crossing")


def test_police_settle_nothing_and_read_their_own_country(demo_log: DemoLog, server: str) -> None:
    question = _questions(demo_log, server)[0]
    refused = demo_log.parties["be-police"].envelope("dismiss_finding", utc_now(), item=question["uid"], question_seq=question["seq"],
                                                     reason="not ours")
    answer = httpx.post(f"{server}/v1/events", headers=demo_log.auth("be-police"), json=refused)
    assert answer.status_code == 409 and answer.json()["rule"] == "actor_role"
    assert all("BE" in (q["country"], q["origin_country"]) for q in _questions(demo_log, server, "be-police", state="any"))
    assert httpx.get(f"{server}/v1/investigations/questions", headers=demo_log.auth("be-police"), params={"country": "DE"}).status_code == 403


def test_a_bad_filter_or_caller_is_refused_with_a_problem(demo_log: DemoLog, server: str) -> None:
    answer = httpx.get(f"{server}/v1/investigations/questions", headers=demo_log.auth("investigator"), params={"state": "closed"})
    assert answer.status_code == 422 and "closed" in answer.json()["detail"]
    assert answer.headers["content-type"] == "application/problem+json"
    assert httpx.get(f"{server}/v1/investigations/questions", headers=demo_log.auth("de-jagd-schmidt")).status_code == 403
    assert httpx.get(f"{server}/v1/investigations/questions").status_code == 401
