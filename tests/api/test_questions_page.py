"""The questions page in a real browser (Debian chromium) against a `tracemark serve` process on the
demo log: an investigator confirms one question and dismisses another, with screenshots.

Screenshots go to $TRACEMARK_SCREENSHOTS when set (CI keeps them as artifacts), else to a temporary folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.managed import create_managed_key
from ledger.config import open_ledger
from ledger.log.codec import utc_now
from tests.adversarial.conftest import DemoLog, make_demo_log
from tests.reliability.processes import api_server
from tests.servers import CHROMIUM, ensure_debian

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> DemoLog:
    """The demo log (its transfer never received is one open question) and a scan of the German
    dealer's pistol for export with no shipment declared (another), the investigator with a managed key."""
    log = make_demo_log(tmp_path_factory.mktemp("questions-page"))
    ledger = open_ledger(log.settings)
    create_managed_key(ledger, log.settings, "investigator", log.parties["investigator"].account, iterations=2**10)
    ledger.append(log.parties["de-customs"].envelope("inspect", utc_now(), item=log.items["valid_firearm"], country="DE",
                                                     location="FRA cargo", direction="export", verdict="CUSTODY_MISMATCH"))
    ledger.db.dispose()
    return log


@pytest.fixture(scope="module")
def server(demo_log: DemoLog) -> Iterator[str]:
    with api_server(demo_log.settings, demo_log.settings.home.parent / "server.log") as url:
        yield url


def _signed_in(p: object, server: str, token: str) -> object:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])  # type: ignore[attr-defined]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{server}/investigations/login")
    page.fill("input[name=key]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/investigations/flows")
    return browser, page


def test_an_investigator_confirms_and_dismisses_questions_on_the_page(demo_log: DemoLog, server: str, shots: Path) -> None:
    ensure_debian("chromium")
    from playwright.sync_api import expect, sync_playwright

    pistol, shipped = demo_log.items["valid_firearm"], demo_log.items["never_received"]
    with sync_playwright() as p:
        browser, page = _signed_in(p, server, demo_log.tokens["investigator"])
        try:
            page.click("nav >> text=Open questions")
            rows = page.locator("table.questions tbody tr")
            expect(rows).to_have_count(2)
            scanned = rows.filter(has=page.locator(f'a[href="/investigations/items/{pistol}"]'))
            expect(scanned).to_contain_text("undeclared crossing")
            expect(scanned).to_contain_text("de-jagd-schmidt")
            expect(rows.filter(has=page.locator(f'a[href="/investigations/items/{shipped}"]'))).to_contain_text("never received")
            page.screenshot(path=str(shots / "investigations-questions-open.png"), full_page=True)

            scanned.locator("input[name=reason]").fill("no export was declared for it")
            scanned.locator("button[value=confirm]").click()
            expect(page.locator(".decided")).to_contain_text("Recorded as entry")
            expect(rows).to_have_count(1)
            unreceived = rows.first
            unreceived.locator("input[name=reason]").fill("the dealer's books show the receipt")
            unreceived.locator("button[value=dismiss]").click()
            expect(page.locator("p.empty")).to_contain_text("No open questions")

            page.select_option("select[name=state]", "any")
            page.click("form.filters button[type=submit]")
            expect(page.locator("table.questions tr.confirmed")).to_contain_text("entry")
            expect(page.locator("table.questions tr.dismissed")).to_contain_text("by investigator")
            page.screenshot(path=str(shots / "investigations-questions-settled.png"), full_page=True)

            page.goto(f"{server}/investigations/items/{pistol}")  # the confirmed scan is now the diversion point
            expect(page.locator("#timeline .diversion-ring")).to_have_count(1)
        finally:
            browser.close()

    hotspots = httpx.get(f"{server}/v1/investigations/diversion", headers=demo_log.auth("investigator")).json()["hotspots"]
    assert pistol in next(h for h in hotspots if h["party"] == "de-jagd-schmidt")["uids"]


def test_a_refused_decision_shows_on_the_page_and_police_get_no_buttons(demo_log: DemoLog, server: str, shots: Path) -> None:
    ensure_debian("chromium")
    from playwright.sync_api import expect, sync_playwright

    answer = httpx.post(f"{server}/investigations/questions", cookies={"tracemark_key": demo_log.tokens["investigator"]},
                        data={"seq": "0", "uid": demo_log.items["valid_firearm"], "decision": "confirm", "reason": "entry 0"})
    assert answer.status_code == 409 and "Refused (" in answer.text and answer.headers["content-type"].startswith("text/html")
    forbidden = httpx.post(f"{server}/investigations/questions", cookies={"tracemark_key": demo_log.tokens["de-police"]},
                           data={"seq": "1", "uid": demo_log.items["valid_firearm"], "decision": "dismiss", "reason": "x"})
    assert forbidden.status_code == 403

    with sync_playwright() as p:
        browser, page = _signed_in(p, server, demo_log.tokens["de-police"])
        try:
            page.goto(f"{server}/investigations/questions?state=any")
            expect(page.locator("table.questions")).to_be_visible()
            expect(page.locator("form.decide")).to_have_count(0)
            page.screenshot(path=str(shots / "investigations-questions-police.png"), full_page=True)
        finally:
            browser.close()
