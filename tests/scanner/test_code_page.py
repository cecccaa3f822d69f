"""Any phone that opens a QR code lands on the item's page with an online verdict."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from api.app import create_app
from tests.scanner.conftest import Demo


def _path(code: str) -> str:
    return urlsplit(code).path  # /I/<uid>/<facts>/<signature>, in the code's own case


def test_a_genuine_code_opens_the_item_page_with_a_valid_verdict(demo: Demo) -> None:
    with TestClient(create_app(demo.settings, ledger=demo.ledger), base_url="https://tracemark.local") as client:
        page = client.get(_path(demo.code("valid_firearm")))
    assert page.status_code == 200
    assert '<p class="verdict ok"><strong>VALID</strong>' in page.text
    assert "PX4-DE-002" in page.text


def test_a_flagged_item_and_a_forged_code_say_so(demo: Demo) -> None:
    with TestClient(create_app(demo.settings, ledger=demo.ledger), base_url="https://tracemark.local") as client:
        seized = client.get(_path(demo.code("stolen_then_seized")))
        genuine = _path(demo.code("valid_firearm"))
        forged = client.get(genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB"))
        lowercase = client.get(genuine.lower())
    assert '<strong>SEIZED</strong>' in seized.text
    assert '<strong>SIGNATURE INVALID</strong>' in forged.text
    assert '<strong>VALID</strong>' in lowercase.text, "a code is case-insensitive, even typed by hand"


def test_the_page_without_a_code_shows_flags_and_asks_for_the_code(demo: Demo) -> None:
    with TestClient(create_app(demo.settings, ledger=demo.ledger), base_url="https://tracemark.local") as client:
        page = client.get(f"/i/{demo.result.items['lost']}")
    assert "<strong>REPORTED LOST STOLEN</strong>" in page.text
    assert "Open this page from the item's QR code" in page.text
