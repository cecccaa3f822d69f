"""Events replayed into another log: an event copied from one log's entries is refused by a second
log that knows the same key (`wrong_log`), because each event signs the origin of its log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace

import httpx
import pytest
from ulid import ULID

from api.keys import create_api_key
from ledger.config import Settings, init_log
from ledger.demo import run_demo
from ledger.log.codec import format_time, utc_now
from tests.adversarial.conftest import DemoLog
from tests.reliability.processes import api_server
from tests.support import signed_without_origin

MAKER = "it-beretta"


@dataclass
class OtherLog:
    """A second log, of another origin, on which the first log's maker key is registered too."""

    url: str
    maker_token: str


@pytest.fixture(scope="module")
def other_log(demo_log: DemoLog, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtherLog]:
    folder = tmp_path_factory.mktemp("other-log")
    settings = Settings(db_url=f"sqlite:///{folder / 'tracemark.db'}", home=folder / "home", origin="other.tracemark.local/log")
    ledger = init_log(settings)
    parties = run_demo(ledger, items=0).parties
    shared_key = demo_log.parties[MAKER].account.address
    ledger.append(parties["registry"].envelope("add_key", utc_now(), party=MAKER, address=shared_key))
    token = create_api_key(ledger, MAKER, "adversarial").token
    ledger.db.dispose()
    with api_server(settings, folder / "server.log") as url:
        yield OtherLog(url, token)


def _marking(serial: str) -> dict[str, object]:
    return {"maker_code": "BER", "serial": serial, "country": "IT", "year": 2026, "make": "Beretta",
            "model": "APX A1", "category": "B", "calibre": "9x19mm"}


def _copied_entry(demo_log: DemoLog, server: str, seq: int) -> dict[str, object]:
    """Entry `seq` as anyone reading the first log's `/v1/entries` gets it, made into an envelope."""
    page = httpx.get(f"{server}/v1/entries", params={"start": seq, "end": seq + 1}, headers=demo_log.auth("investigator"))
    assert page.status_code == 200, page.text
    entry = page.json()["entries"][0]
    return {"event": json.loads(entry["event"]), "signer": entry["signer"], "signature": entry["signature"]}


def _size(url: str) -> int:
    """The log's size, from its signed checkpoint (origin, size, root, ...)."""
    return int(httpx.get(f"{url}/v1/checkpoint").text.splitlines()[1])


def test_an_event_copied_from_one_log_is_refused_by_another_that_knows_the_key(
        demo_log: DemoLog, server: str, other_log: OtherLog) -> None:
    maker = demo_log.parties[MAKER]
    marked = httpx.post(f"{server}/v1/events", headers=demo_log.auth(MAKER),
                        json=maker.envelope("mark_firearm", utc_now(), item=str(ULID()), marking=_marking("REPLAY-1")))
    assert marked.status_code == 201, marked.text
    copied = _copied_entry(demo_log, server, marked.json()["seq"])
    size = _size(other_log.url)

    replayed = httpx.post(f"{other_log.url}/v1/events", headers={"Authorization": f"Bearer {other_log.maker_token}"}, json=copied)

    assert replayed.status_code == 409, replayed.text
    assert replayed.headers["content-type"] == "application/problem+json"
    assert replayed.json()["rule"] == "wrong_log"
    assert "adversarial.tracemark.local/log" in replayed.json()["detail"]
    assert _size(other_log.url) == size


def test_the_same_key_still_acts_on_the_second_log_with_events_signed_for_it(
        demo_log: DemoLog, other_log: OtherLog) -> None:
    """The key is not refused as such: what it signs for the second log's origin is appended there."""
    maker = replace(demo_log.parties[MAKER], origin="other.tracemark.local/log")
    answer = httpx.post(f"{other_log.url}/v1/events", headers={"Authorization": f"Bearer {other_log.maker_token}"},
                        json=maker.envelope("mark_firearm", utc_now(), item=str(ULID()), marking=_marking("REPLAY-2")))
    assert answer.status_code == 201, answer.text


def test_an_event_naming_no_log_is_refused(demo_log: DemoLog, server: str) -> None:
    """A new event must name its log: one signed without an origin is refused."""
    maker = demo_log.parties[MAKER]
    event = {"type": "mark_firearm", "actor": MAKER, "time": format_time(utc_now()), "item": str(ULID()),
             "marking": _marking("REPLAY-3")}
    answer = httpx.post(f"{server}/v1/events", headers=demo_log.auth(MAKER), json=signed_without_origin(maker.account, event))
    assert answer.status_code == 409, answer.text
    assert answer.json()["rule"] == "wrong_log"
