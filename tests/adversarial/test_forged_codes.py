"""Codes that say more than their signer may, replayed against a real `tracemark serve` on the demo log.

A maker's key vouching for another maker's firearm, a code pointing to another host, a code naming
another log as its issuer, a genuine code whose serial holds `/` and `..`, and the camera page's API key. The offline scanner is the
installed `tracemark scan --offline` in its own process, reading a real QR image, with a trust
bundle written by `tracemark bundle export`; online scans are `POST /v1/scan` over HTTP.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from ulid import ULID

from ledger.config import open_ledger
from ledger.log.checkpoint import LogKey, verifier_key_id
from ledger.log.codec import utc_now
from ledger.log.keys import new_account
from ledger.store.ledger import Ledger
from scanner.decode import decode
from scanner.markings import issue_marking, item_facts
from scanner.payload import DEFAULT_HOST, FirearmFacts, Payload, encode_payload, parse_payload, sign_claim
from scanner.render import image, png
from tests.adversarial.conftest import DemoLog
from tests.servers import CHROMIUM, camera_args, camera_video

TRACEMARK = str(Path(sys.executable).parent / "tracemark")


@pytest.fixture(scope="module")
def ledger(demo_log: DemoLog) -> Iterator[Ledger]:
    """The demo log as the marking parties' own tools see it (to issue codes), beside the server."""
    opened = open_ledger(demo_log.settings)
    yield opened
    opened.db.dispose()


@pytest.fixture(scope="module")
def bundle(demo_log: DemoLog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trust bundle written by `tracemark bundle export` in a fresh process, for codes of the default host."""
    out = tmp_path_factory.mktemp("bundle") / "bundle.json"
    settings = demo_log.settings
    subprocess.run([TRACEMARK, "bundle", "export", "--db", settings.db_url, "--home", str(settings.home), "--out", str(out)],
                   check=True, capture_output=True, text=True, env={**os.environ, "TRACEMARK_ORIGIN": settings.origin})
    return out


def _offline(demo_log: DemoLog, bundle: Path, code: str, folder: Path) -> dict[str, Any]:
    """The verdict of `tracemark scan --offline` on a photo of `code`."""
    photo = folder / f"code-{abs(hash(code))}.png"
    photo.write_bytes(png(code))
    done = subprocess.run([TRACEMARK, "scan", "--offline", str(bundle), "--home", str(demo_log.settings.home), "--json", str(photo)],
                          capture_output=True, text=True, env={**os.environ, "TRACEMARK_ORIGIN": demo_log.settings.origin})
    line = json.loads(done.stdout)
    assert line["code"] == code, line
    return line["answer"]


def _online(server: str, demo_log: DemoLog, code: str) -> dict[str, Any]:
    """The verdict of `POST /v1/scan` by German customs, inland."""
    body = {"code": code, "country": "DE", "location": "Frankfurt", "direction": "inland"}
    answer = httpx.post(f"{server}/v1/scan", json=body, headers=demo_log.auth("de-customs"), timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _signed(party: str, demo_log: DemoLog, item: str, facts: FirearmFacts, host: str = DEFAULT_HOST, version: int = 2,
            log_id: str | None = None) -> str:
    account = demo_log.parties[party].account if party in demo_log.parties else new_account()  # another log's maker
    return encode_payload(host, item, facts, sign_claim(account, host, item, facts, version, log_id=log_id), version, log_id=log_id)


def test_a_makers_key_cannot_vouch_for_another_makers_firearm(demo_log: DemoLog, server: str, bundle: Path, ledger: Ledger,
                                                             tmp_path: Path) -> None:
    never_marked = str(ULID())
    glock_facts = FirearmFacts(maker_code="GLK", serial="GLK-AT-0001", country="AT", year=2025)
    invented = _signed("it-beretta", demo_log, never_marked, glock_facts)
    offline = _offline(demo_log, bundle, invented, tmp_path)
    assert offline["verdict"] == "SIGNATURE_INVALID", offline
    assert "it-beretta" in offline["reasons"][0]["detail"] and "GLK" in offline["reasons"][0]["detail"]
    assert _online(server, demo_log, invented)["verdict"] == "UNKNOWN_ITEM"

    glock_item = demo_log.items["never_received"]
    facts = item_facts(ledger, glock_item)
    genuine = _signed("at-glock", demo_log, glock_item, facts)
    verified = _offline(demo_log, bundle, genuine, tmp_path)  # the maker's own code: only the item's standing speaks
    assert verified["verdict"] == "TRANSFER_NOT_RECEIVED" and [r["verdict"] for r in verified["reasons"]] == ["TRANSFER_NOT_RECEIVED"]
    claimed = _signed("it-beretta", demo_log, glock_item, facts)
    assert _offline(demo_log, bundle, claimed, tmp_path)["verdict"] == "SIGNATURE_INVALID"
    assert _online(server, demo_log, claimed)["verdict"] == "SIGNATURE_INVALID"


def test_a_code_pointing_to_another_host_is_refused(demo_log: DemoLog, server: str, bundle: Path, ledger: Ledger,
                                                   tmp_path: Path) -> None:
    item = demo_log.items["never_received"]
    facts = item_facts(ledger, item)
    elsewhere = _signed("at-glock", demo_log, item, facts, host="TRACEMARK.EVIL.EXAMPLE")
    offline = _offline(demo_log, bundle, elsewhere, tmp_path)
    assert offline["verdict"] == "SIGNATURE_INVALID" and "TRACEMARK.EVIL.EXAMPLE" in offline["reasons"][0]["detail"]
    online = _online(server, demo_log, elsewhere)  # a genuine signature, for another log's host: not ours either
    assert (online["verdict"], online["reasons"][0]["detail"]) == (offline["verdict"], offline["reasons"][0]["detail"])

    repointed = _signed("at-glock", demo_log, item, facts).replace(DEFAULT_HOST, "TRACEMARK.EVIL.EXAMPLE")
    assert _offline(demo_log, bundle, repointed, tmp_path)["verdict"] == "SIGNATURE_INVALID"
    assert _online(server, demo_log, repointed)["verdict"] == "SIGNATURE_INVALID"


def test_a_code_of_the_first_format_still_scans_and_its_host_is_still_checked(demo_log: DemoLog, server: str, bundle: Path,
                                                                              ledger: Ledger, tmp_path: Path) -> None:
    """First-format codes signed the facts without the host: they scan, but only at the log's host."""
    item = demo_log.items["never_received"]
    old = _signed("at-glock", demo_log, item, item_facts(ledger, item), version=1)
    assert "/F*GLK*" in old
    assert _offline(demo_log, bundle, old, tmp_path)["verdict"] == "TRANSFER_NOT_RECEIVED"  # the item's own standing, no code finding
    assert _online(server, demo_log, old)["verdict"] != "SIGNATURE_INVALID"
    repointed = old.replace(DEFAULT_HOST, "TRACEMARK.EVIL.EXAMPLE")
    assert _offline(demo_log, bundle, repointed, tmp_path)["verdict"] == "SIGNATURE_INVALID"
    assert _online(server, demo_log, repointed)["verdict"] == "SIGNATURE_INVALID"


@pytest.mark.parametrize("story, verdict", [("valid_firearm", "VALID"), ("lost", "REPORTED_LOST_STOLEN")])
def test_codes_of_every_format_of_one_item_get_the_same_verdict(demo_log: DemoLog, server: str, bundle: Path, ledger: Ledger,
                                                                 tmp_path: Path, story: str, verdict: str) -> None:
    """Codes printed before the log was named (versions 1 and 2) scan as the version 3 code the log issues now."""
    item = demo_log.items[story]
    maker = ledger.item(item).marker
    issued = parse_payload(issue_marking(ledger, item, demo_log.parties[maker].account).payload)
    assert issued.version == 3 and issued.log_id == verifier_key_id(demo_log.settings.verifier_key())
    codes = {version: _signed(maker, demo_log, item, issued.facts, version=version) for version in (1, 2)} | {3: issued.text}
    assert {version: _offline(demo_log, bundle, code, tmp_path)["verdict"] for version, code in codes.items()} == dict.fromkeys(codes, verdict)
    assert {version: _online(server, demo_log, code)["verdict"] for version, code in codes.items()} == dict.fromkeys(codes, verdict)


def test_the_issuing_log_is_signed_so_a_changed_log_id_is_a_forgery(demo_log: DemoLog, server: str, bundle: Path, ledger: Ledger,
                                                                     tmp_path: Path) -> None:
    """A genuine label re-printed naming another log must not escape the item's verdict as another log's code."""
    item = demo_log.items["lost"]
    code = issue_marking(ledger, item, demo_log.parties[ledger.item(item).marker].account).payload
    ours, theirs = parse_payload(code).log_id, LogKey.generate("other.example/log").key_hash.hex()
    altered = code.replace(f"*{ours.upper()}/", f"*{theirs.upper()}/")
    printed = decode(image(altered)).texts
    assert printed == (altered,) and parse_payload(altered).log_id == theirs
    offline = _offline(demo_log, bundle, altered, tmp_path)
    assert offline["verdict"] == "SIGNATURE_INVALID" and "log ID was altered" in offline["reasons"][0]["detail"], offline
    online = _online(server, demo_log, printed[0])
    assert online["verdict"] == "SIGNATURE_INVALID" and online["item"]["uid"] == item, online


def test_a_code_another_log_issued_gets_its_own_answer(demo_log: DemoLog, server: str, bundle: Path, tmp_path: Path) -> None:
    """Another country's code is neither unknown nor forged here: it names its log, which this log cannot ask yet."""
    theirs = LogKey.generate("registry.example.de/log").key_hash.hex()
    facts = FirearmFacts(maker_code="WAL", serial="WAL-DE-0001", country="DE", year=2025)
    foreign = _signed("de-walther", demo_log, str(ULID()), facts, version=3, log_id=theirs)
    offline = _offline(demo_log, bundle, foreign, tmp_path)
    assert offline["verdict"] == "FOREIGN_LOG" and theirs in offline["reasons"][0]["detail"], offline
    online = _online(server, demo_log, foreign)
    assert online["verdict"] == "FOREIGN_LOG" and online["advice"].startswith("Issued by another country's log"), online
    assert theirs in online["reasons"][0]["detail"] and online["inspection"]["recorded"] is False


def _post(server: str, demo_log: DemoLog, party: str, event_type: str, **fields: Any) -> None:
    envelope = demo_log.parties[party].envelope(event_type, utc_now(), **fields)
    answer = httpx.post(f"{server}/v1/events", json=envelope, headers=demo_log.auth(party), timeout=30)
    assert answer.status_code == 201, answer.text


@pytest.fixture(scope="module")
def slashed(demo_log: DemoLog, server: str, ledger: Ledger) -> Payload:
    """A firearm whose serial holds `/` and `..`, marked by Beretta, held by a German dealer, with its code issued."""
    uid = str(ULID())
    marking = {"maker_code": "BER", "serial": "PX4/../DE/7.A", "country": "IT", "year": 2026, "make": "Beretta",
               "model": "APX A1", "category": "B", "calibre": "9x19mm"}
    _post(server, demo_log, "it-beretta", "mark_firearm", item=uid, marking=marking)
    _post(server, demo_log, "it-beretta", "transfer", item=uid, to="de-jagd-schmidt", reference="IT-DE-2026-7")
    _post(server, demo_log, "de-jagd-schmidt", "receive", item=uid)
    return parse_payload(issue_marking(ledger, uid, demo_log.parties["it-beretta"].account).payload)


def test_a_genuine_code_whose_serial_holds_slashes_round_trips(demo_log: DemoLog, server: str, bundle: Path,
                                                               slashed: Payload, tmp_path: Path) -> None:
    code = slashed.text
    assert slashed.facts.serial == "PX4/../DE/7.A" and "PX4%2F..%2FDE%2F7.A" in code
    assert decode(image(code)).texts == (code,), "the printed code reads back as it was made"
    answer = _online(server, demo_log, code)
    assert answer["verdict"] == "VALID", answer["reasons"]
    assert _offline(demo_log, bundle, code, tmp_path)["verdict"] == "VALID"
    page = httpx.get(server + urlsplit(code).path, headers={"Host": DEFAULT_HOST}, timeout=30)
    assert page.status_code == 200 and "<strong>VALID</strong>" in page.text, page.text[:2000]
    first_format = _signed("it-beretta", demo_log, slashed.item, slashed.facts, version=1)
    assert "*PX4/../DE/7.A*" in first_format
    assert _online(server, demo_log, first_format)["verdict"] == "VALID"


@pytest.mark.browser
def test_the_camera_page_never_puts_the_api_key_in_a_url(demo_log: DemoLog, server: str, ledger: Ledger, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    code = issue_marking(ledger, demo_log.items["valid_firearm"], demo_log.parties["it-beretta"].account).payload
    video = camera_video(code, tmp_path)
    token = demo_log.tokens["de-police"]
    typed_in_the_address_bar = "tmk_" + "x" * 40
    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=camera_args(video))
        try:
            page = browser.new_page(viewport={"width": 412, "height": 915})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{server}/scan?location=Frankfurt")
            page.fill("#key", token)
            page.press("#key", "Enter")
            page.check("input[name=direction][value=inland]")
            expect(page.locator("#verdict")).to_have_attribute("data-verdict", "VALID", timeout=30_000)
            assert page.evaluate("localStorage.getItem('tracemark.key')") is None, "the key is never kept on disk"

            tab = browser.new_page()
            tab.on("request", lambda request: requested.append(request.url))
            tab.goto(f"{server}/scan?key={typed_in_the_address_bar}&location=Frankfurt")
            expect(tab.locator("#warning")).to_be_visible()
            assert "key=" not in tab.url and tab.input_value("#key") == ""
            assert tab.evaluate("sessionStorage.getItem('tracemark.key')") is None
        finally:
            browser.close()
    assert any(url.endswith("/v1/scan") for url in requested)
    assert not [url for url in requested if token in url]
    log = (demo_log.settings.home.parent / "server.log").read_text()
    assert re.search(r'"POST /v1/scan HTTP/1\.1" 200', log), "the access log records requests"
    assert token not in log
