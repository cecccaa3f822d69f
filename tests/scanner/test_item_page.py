"""The item's public page (what a phone opens from a QR code) in a real browser, at phone and desktop
sizes: it reads like the camera page, with party names, dates as people write them, serials, and
each fact once.

Screenshots go to $TRACEMARK_SCREENSHOTS when set, else to the test's temporary folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api.app import create_app
from api.routes.pages import FACT_NAMES
from scanner.claims import marking_verifier
from tests.scanner.conftest import Demo
from tests.servers import CHROMIUM, ensure_debian, serve_in_thread

pytestmark = pytest.mark.browser

SIZES = [pytest.param({"width": 390, "height": 844}, id="phone"), pytest.param({"width": 1280, "height": 900}, id="desktop")]
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


@pytest.fixture(scope="module")
def service(demo: Demo) -> Iterator[str]:
    app = create_app(demo.settings, ledger=demo.ledger, marking_verifier=marking_verifier(demo.ledger))
    with serve_in_thread(app) as url:
        yield url


@pytest.mark.parametrize("viewport", SIZES)
def test_the_item_page_reads_like_the_camera_page(demo: Demo, service: str, shots: Path, viewport: dict[str, int]) -> None:
    """The stolen Beretta seized in Belgium, opened by its id, and a forged copy of the valid one's code."""
    ensure_debian("chromium")
    from playwright.sync_api import sync_playwright

    seized = demo.result.items["stolen_then_seized"]
    valid = demo.result.items["valid_firearm"]
    code = urlsplit(demo.code("valid_firearm")).path
    forged = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=viewport)
            page.goto(f"{service}/i/{seized}")
            page.screenshot(path=str(shots / f"item-seized-{viewport['width']}.png"), full_page=True)
            text = page.locator("body").inner_text()
            assert not ISO.search(text), "times read as date, minute and zone, not ISO 8601"
            assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
            for name in ("Fabbrica d'Armi Pietro Beretta S.p.A.", "Police Federale, Liege", "Jagd- und Waffen Schmidt GmbH"):
                assert name in text, f"{name} named, not its party id"
            for party in ("it-beretta", "be-police", "de-jagd-schmidt"):
                assert party not in text, f"party id {party} shown instead of its name"
            terms = page.locator("dt").all_inner_texts()
            assert [term for term in terms if "country" in term.lower()] == [], terms
            assert {"Made in", "Last known in", "Serial"} <= set(terms), terms
            assert page.locator("dd", has_text="Italy").count() == 1  # where it was made, as a country's name
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], "nothing runs off the screen"

            page.goto(f"{service}{forged}")
            page.screenshot(path=str(shots / f"item-forged-{viewport['width']}.png"), full_page=True)
            reasons = page.locator("ul.reasons").inner_text()
            assert "PX4-DE-002" in reasons and valid not in reasons, reasons
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        finally:
            browser.close()


def test_the_item_page_names_facts_as_the_camera_page_does() -> None:
    """One wording for an item's facts: the camera page's `Wording.FACTS` and the item page's names agree."""
    script = (Path(__file__).resolve().parents[2] / "api" / "static" / "scan" / "verdicts.js").read_text()
    block = re.search(r"const FACTS = \{(.*?)\};", script, re.DOTALL)
    assert block is not None
    assert dict(re.findall(r'(\w+): "([^"]+)"', block.group(1))) == FACT_NAMES
