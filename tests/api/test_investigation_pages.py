"""The investigator's pages in a real browser (Debian chromium) on the demo data, with screenshots.

Screenshots go to $TRACEMARK_SCREENSHOTS when set (CI keeps them as artifacts), else to a temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from api.keys import create_api_key
from ledger.config import Settings, init_log
from ledger.demo import DemoResult, run_demo
from ledger.store.ledger import Ledger
from tests.servers import CHROMIUM, ensure_debian, serve_in_thread

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, DemoResult, Settings]]:
    folder = tmp_path_factory.mktemp("pages")
    settings = Settings(db_url=f"sqlite:///{folder / 'demo.db'}", home=folder / "home", origin="test.tracemark.local/log")
    ledger = init_log(settings)
    result = run_demo(ledger, items=8)
    ledger.checkpoint()
    yield ledger, result, settings
    ledger.db.dispose()


@pytest.fixture(scope="module")
def service(demo: tuple[Ledger, DemoResult, Settings]) -> Iterator[str]:
    ledger, _, settings = demo
    with serve_in_thread(create_app(settings, ledger=ledger)) as url:
        yield url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TRACEMARK_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(demo: tuple[Ledger, DemoResult, Settings], service: str) -> Iterator[object]:
    """A chromium page signed in through the login form with the demo investigator's API key."""
    ensure_debian("chromium")
    from playwright.sync_api import sync_playwright

    token = create_api_key(demo[0], "investigator", "pages test").token
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"{service}/investigations/login")
            page.fill("input[name=key]", token)
            page.click("button[type=submit]")
            page.wait_for_url(f"{service}/investigations/flows")
            yield page
        finally:
            browser.close()


def test_the_timeline_page_rings_the_diversion(page, demo, service: str, shots: Path) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    uid = demo[1].items["stolen_then_seized"]
    page.goto(f"{service}/investigations/items/{uid}")
    expect(page.locator("#verdict")).to_contain_text("Last legitimate custodian: de-jagd-schmidt")
    expect(page.locator("#verdict")).to_contain_text("under three years")
    expect(page.locator("#timeline circle.dot")).to_have_count(6)
    expect(page.locator("#timeline .diversion-ring")).to_have_count(1)
    expect(page.locator("#timeline circle.dot.unproven")).to_have_count(0)
    page.locator("#timeline circle.dot.alarm").first.hover()
    expect(page.locator("#tip")).to_be_visible()
    expect(page.locator("#tip")).to_contain_text("report stolen at Frankfurt am Main")
    page.screenshot(path=str(shots / "investigations-timeline.png"), full_page=True)


def test_the_flow_page_draws_one_band_per_route(page, service: str, shots: Path) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    expect(page.locator("#flows path.band")).to_have_count(2)  # DE -> BE (stolen pistol), KE -> DE (seized skin)
    expect(page.locator("table.routes")).to_contain_text("DE")
    page.locator("#flows path.band").first.hover()
    expect(page.locator("#tip")).to_contain_text("flagged item")
    page.screenshot(path=str(shots / "investigations-flows.png"), full_page=True)
    page.goto(f"{service}/investigations/flows?kind=specimen")
    expect(page.locator("#flows path.band")).to_have_count(1)


def test_the_network_page_highlights_hotspots(page, service: str, shots: Path) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page.goto(f"{service}/investigations/network")
    hotspot = page.locator('#network g.node.hotspot[data-party="de-jagd-schmidt"]')
    expect(hotspot).to_have_count(1)
    expect(page.locator("#network g.node", has_text="it-beretta")).to_have_count(1)
    hotspot.hover()
    expect(page.locator("#network line.link.active").first).to_be_visible()
    assert page.locator("#network line.link.dim").count() > 0
    page.screenshot(path=str(shots / "investigations-network.png"), full_page=True)


def test_the_pages_refuse_a_dealer(demo, service: str) -> None:  # noqa: ANN001
    import httpx

    token = create_api_key(demo[0], "de-jagd-schmidt", "not an investigator").token
    response = httpx.get(f"{service}/investigations/network", cookies={"tracemark_key": token})
    assert response.status_code == 403
    assert httpx.get(f"{service}/investigations/network").status_code == 401
