"""The investigator's pages in a real browser (Debian chromium) on the demo data, with screenshots.

Screenshots go to $TRACEMARK_SCREENSHOTS when set (CI keeps them as artifacts), else to a temporary folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api.app import create_app
from api.keys import create_api_key
from ledger.config import Settings, init_log
from ledger.demo import DemoResult, run_demo
from ledger.store.ledger import Ledger
from tests.servers import serve_in_thread

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


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def investigator_key(demo: tuple[Ledger, DemoResult, Settings]) -> str:
    return create_api_key(demo[0], "investigator", "pages test").token


class Visit:
    """A browser page that records every request it makes, so a test can say none left this machine."""

    def __init__(self, browser: object, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))

    def sign_in(self, service: str, key: str) -> None:
        self.page.goto(f"{service}/investigations/login")
        self.page.fill("input[name=key]", key)
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_url(f"{service}/investigations/flows")

    def outside_requests(self) -> list[str]:
        return [url for url in self.requests if urlsplit(url).hostname != "127.0.0.1" and not url.startswith("data:")]

    def overflows(self) -> bool:
        """Whether the page scrolls sideways: wider than the viewport."""
        return self.page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def visit(request: pytest.FixtureRequest, browser: object) -> Iterator[Visit]:
    visit = Visit(browser, request.param)
    try:
        yield visit
    finally:
        visit.context.close()


@pytest.fixture
def page(visit: Visit, service: str, investigator_key: str) -> object:
    """A chromium page signed in through the login form with the demo investigator's API key."""
    visit.sign_in(service, investigator_key)
    return visit.page


def _inside(page, inner: str, outer: str) -> list[str]:  # noqa: ANN001
    """The texts of the shown elements matching `inner` whose box is not wholly inside the first `outer` box."""
    return page.evaluate("""([inner, outer]) => {
        const box = document.querySelector(outer).getBoundingClientRect();
        return Array.from(document.querySelectorAll(inner)).filter(el => {
            const r = el.getBoundingClientRect();
            return r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5);
        }).map(el => el.textContent);
    }""", [inner, outer])


def _in_viewport(page, selector: str) -> bool:  # noqa: ANN001
    box = page.locator(selector).bounding_box()
    width = page.viewport_size["width"]
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def test_the_timeline_page_rings_the_diversion(page, visit: Visit, demo, service: str, shots: Path) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    uid = demo[1].items["stolen_then_seized"]
    page.goto(f"{service}/investigations/items/{uid}")
    expect(page.locator("h1")).to_contain_text("Beretta APX A1 · PX4-DE-001")
    expect(page.locator("#verdict")).to_contain_text("Last legitimate custodian: de-jagd-schmidt")
    expect(page.locator("#verdict")).to_contain_text("under three years")
    expect(page.locator("#timeline circle.dot")).to_have_count(6)
    expect(page.locator("#timeline .diversion-ring")).to_have_count(1)
    expect(page.locator("#timeline circle.dot.unproven")).to_have_count(0)
    legend = page.locator("#timeline-legend")
    for entry in ("marking", "custody", "alarm", "diversion point"):
        expect(legend).to_contain_text(entry)
    expect(legend).to_be_visible()
    assert _in_viewport(page, "#timeline-legend")
    assert _inside(page, "#timeline text", "#timeline") == []  # lane names and dates are not cut off
    ticks = page.locator("#timeline text.tick")
    expect(ticks.first).to_be_visible()
    expect(ticks.last).to_be_visible()  # the first and last dates, and those between them that fit
    page.locator("#timeline circle.dot.alarm").first.hover()
    expect(page.locator("#tip")).to_be_visible()
    expect(page.locator("#tip")).to_contain_text("report stolen at Frankfurt am Main")
    assert not visit.overflows()
    page.screenshot(path=str(shots / f"investigations-timeline-{page.viewport_size['width']}.png"), full_page=True)
    assert visit.outside_requests() == []


def test_the_flow_page_draws_the_routes_on_a_map(page, visit: Visit, service: str, shots: Path) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    expect(page.locator("#flows path.band")).to_have_count(2)  # DE -> BE (stolen pistol), KE -> DE (seized skin)
    assert page.locator("#flows path.land").count() > 20  # the countries around them, from the shipped map
    expect(page.locator("#flows text.country-label")).to_have_text(["Germany", "Belgium", "Kenya"])
    assert _inside(page, "#flows text.country-label", "#flows") == []
    expect(page.locator("#flows-legend")).to_be_visible()
    expect(page.locator("#flows-legend")).to_contain_text("country where found")
    assert _in_viewport(page, "#flows-legend")
    expect(page.locator("table.routes")).to_contain_text("DE")
    assert not visit.overflows()
    page.screenshot(path=str(shots / f"investigations-flows-{page.viewport_size['width']}.png"), full_page=True)
    page.locator("#flows path.band").first.hover()
    expect(page.locator("#tip")).to_contain_text("flagged item")
    page.goto(f"{service}/investigations/flows?kind=specimen")
    expect(page.locator("#flows path.band")).to_have_count(1)
    assert visit.outside_requests() == []


def test_the_network_page_highlights_hotspots(page, visit: Visit, demo, service: str, shots: Path) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page.goto(f"{service}/investigations/network")
    hotspot = page.locator('#network g.node.hotspot[data-party="de-jagd-schmidt"]')
    expect(hotspot).to_have_count(1)
    beretta = page.locator("#network g.node", has_text="Fabbrica d'Armi Pietro Beretta S.p.A.")
    expect(beretta).to_have_count(1)  # parties by name; the id in the tooltip
    assert [text for text in page.locator("#network g.node text").all_text_contents() if re.fullmatch(r"[a-z]{2}-[a-z.-]+", text)] == []
    beretta.locator("circle").hover()
    expect(page.locator("#tip")).to_contain_text("it-beretta")
    assert page.locator("#network path.land").count() > 20
    expect(page.locator("#network-legend")).to_be_visible()
    expect(page.locator("#network-legend")).to_contain_text("diversion hotspot")
    assert _in_viewport(page, "#network-legend")
    assert _inside(page, "#network g.node text", "#network") == []
    items = page.locator("table.hotspots a")
    expect(items.first).to_be_visible()
    assert all(" · " in text and not text.startswith("01") for text in items.all_inner_texts())  # serials, not ids
    expect(page.locator("table.hotspots")).to_contain_text("Beretta APX A1 · PX4-DE-001")
    assert not visit.overflows()
    page.screenshot(path=str(shots / f"investigations-network-{page.viewport_size['width']}.png"), full_page=True)
    whole = page.locator("#network").get_attribute("viewBox")
    assert _in_viewport(page, ".map-controls")
    page.get_by_role("button", name="zoom in").click()
    page.get_by_role("button", name="zoom in").click()
    zoomed = [float(n) for n in page.locator("#network").get_attribute("viewBox").split()]
    assert zoomed[2] == float(whole.split()[2]) / 4
    page.screenshot(path=str(shots / f"investigations-network-zoomed-{page.viewport_size['width']}.png"), full_page=True)
    box = page.locator("#network").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # drag the map: it pans
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 60, box["y"] + box["height"] / 2 - 40, steps=4)
    page.mouse.up()
    panned = [float(n) for n in page.locator("#network").get_attribute("viewBox").split()]
    assert panned[0] > zoomed[0] and panned[1] > zoomed[1] and panned[2] == zoomed[2]
    page.get_by_role("button", name="show the whole map").click()
    assert page.locator("#network").get_attribute("viewBox") == whole
    hotspot.locator("circle").hover()
    expect(page.locator("#network path.link.active").first).to_be_visible()
    assert page.locator("#network path.link.dim").count() > 0
    page.get_by_role("link", name="Beretta APX A1 · PX4-DE-001").click()
    page.wait_for_url(f"{service}/investigations/items/{demo[1].items['stolen_then_seized']}")
    assert visit.outside_requests() == []


def test_every_page_links_the_open_questions(page, service: str) -> None:  # noqa: ANN001
    for path in ("/investigations/flows", "/investigations/network", "/investigations/search?q=GX"):
        page.goto(service + path)
        assert page.locator('header a[href="/investigations/questions"]').is_visible()


def test_a_serial_opens_its_item(page, visit: Visit, demo, service: str, shots: Path) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page.fill("header input[name=q]", "px4-de-001")
    page.press("header input[name=q]", "Enter")
    page.wait_for_url(f"{service}/investigations/items/{demo[1].items['stolen_then_seized']}")
    expect(page.locator("h1")).to_contain_text("PX4-DE-001")
    page.fill("header input[name=q]", demo[1].items["specimen_seized"].lower())
    page.press("header input[name=q]", "Enter")
    page.wait_for_url(f"{service}/investigations/items/{demo[1].items['specimen_seized']}")
    expect(page.locator("h1")).to_contain_text("Crocodylus niloticus · KE-CN-2026-000005")
    assert visit.outside_requests() == []


def test_several_items_are_listed_by_serial_and_maker(page, visit: Visit, service: str, shots: Path) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page.fill("header input[name=q]", "PX4-DE")
    page.press("header input[name=q]", "Enter")
    page.wait_for_url(f"{service}/investigations/search?q=PX4-DE")
    hits = page.locator("#hits li a")
    expect(hits).to_have_text(["Beretta APX A1 · PX4-DE-001", "Beretta APX A1 · PX4-DE-002", "Beretta APX A1 · PX4-DE-900"])
    page.fill("header input[name=q]", "Jagd- und Waffen")  # a party, by its name
    page.press("header input[name=q]", "Enter")
    expect(page.locator("#hits")).to_contain_text("held by de-jagd-schmidt")
    expect(page.locator("#hits")).to_contain_text("diverted after de-jagd-schmidt held it")
    assert all(not text.startswith("01") for text in hits.all_inner_texts())
    assert not visit.overflows()
    page.screenshot(path=str(shots / f"investigations-search-{page.viewport_size['width']}.png"), full_page=True)
    page.fill("header input[name=q]", "no such thing")
    page.press("header input[name=q]", "Enter")
    expect(page.locator("#no-hits")).to_be_visible()
    assert visit.outside_requests() == []


PAGES = ("/investigations/flows", "/investigations/network", "/investigations/search?q=GX", "/investigations/items/{uid}")


@pytest.mark.parametrize("path", PAGES)
def test_a_signed_out_visitor_is_sent_to_sign_in(visit: Visit, demo, service: str, investigator_key: str, path: str) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page = visit.page
    target = path.format(uid=demo[1].items["stolen_then_seized"])
    page.goto(service + target)
    assert urlsplit(page.url).path == "/investigations/login"
    expect(page.locator("#signin-message")).to_have_text("Sign in to continue.")
    page.fill("input[name=key]", investigator_key)
    page.click("form.login button[type=submit]")
    page.wait_for_url(service + target)  # back where the visitor was going
    expect(page.locator("header input[name=q]")).to_be_visible()


@pytest.mark.parametrize("path", PAGES)
def test_a_refused_key_is_sent_to_sign_in(visit: Visit, demo, service: str, path: str, shots: Path) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page = visit.page
    visit.context.add_cookies([{"name": "tracemark_key", "value": "tmk_0123456789abcdef_wrong", "url": service}])
    page.goto(service + path.format(uid=demo[1].items["stolen_then_seized"]))
    assert urlsplit(page.url).path == "/investigations/login"
    expect(page.locator("#signin-message")).to_contain_text("That key was not accepted")
    assert visit.context.cookies() == []  # the refused key is forgotten
    page.screenshot(path=str(shots / f"investigations-refused-{page.viewport_size['width']}.png"), full_page=True)


def test_a_wrong_key_typed_in_the_form_is_refused_in_words(visit: Visit, demo, service: str, shots: Path) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page = visit.page
    page.goto(f"{service}/investigations/login")
    page.fill("input[name=key]", "not-a-key")
    page.click("form.login button[type=submit]")
    expect(page.locator("#signin-message")).to_contain_text("That key was not accepted")
    expect(page.locator("input[name=key]")).to_be_visible()
    dealer = create_api_key(demo[0], "de-jagd-schmidt", "not an investigator").token
    page.fill("input[name=key]", dealer)
    page.click("form.login button[type=submit]")
    expect(page.locator("#signin-message")).to_contain_text("That key was not accepted: these pages open with an investigator's")
    assert not visit.overflows()
    page.screenshot(path=str(shots / f"investigations-login-refused-{page.viewport_size['width']}.png"), full_page=True)
    assert visit.outside_requests() == []


def test_the_pages_send_refused_callers_to_sign_in(demo, service: str) -> None:  # noqa: ANN001
    import httpx

    dealer = create_api_key(demo[0], "de-jagd-schmidt", "not an investigator").token
    for cookies, why in (({"tracemark_key": dealer}, "role"), ({}, "signed-out"), ({"tracemark_key": "tmk_nonsense"}, "rejected")):
        response = httpx.get(f"{service}/investigations/network", cookies=cookies)
        assert response.status_code == 303
        assert response.headers["location"] == f"/investigations/login?why={why}&next=%2Finvestigations%2Fnetwork"
    assert httpx.get(f"{service}/v1/investigations/diversion").status_code == 401  # the API still answers problem+json
    refused = httpx.get(f"{service}/investigations/network", headers={"Authorization": f"Bearer {dealer}"})  # so do pages, to a program
    assert refused.status_code == 403 and refused.json()["title"] == "Forbidden" and refused.json()["type"].endswith("/forbidden")
    assert httpx.get(f"{service}/investigations/login?next=https://example.org/").text.count('name="next" value=""') == 1


def test_police_find_only_their_own_countrys_items(demo, service: str, investigator_key: str) -> None:  # noqa: ANN001
    import httpx

    police = create_api_key(demo[0], "de-police", "pages test").token
    cookies = {"tracemark_key": police}
    found = httpx.get(f"{service}/investigations/search", params={"q": "GLK-"}, cookies=cookies)
    # of the Glocks, only the one a German dealer lost is theirs (the other went from Austria to Belgium): it opens
    assert found.status_code == 303
    assert found.headers["location"] == f"/investigations/items/{demo[1].items['lost']}"
    everything = httpx.get(f"{service}/investigations/search", params={"q": "GLK-"}, cookies={"tracemark_key": investigator_key})
    assert "GLK-BE-7781" in everything.text
    refused = httpx.get(f"{service}/investigations/items/{demo[1].items['never_received']}", cookies=cookies)
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"] and "never marked, held" in refused.text


def test_a_page_that_cannot_be_shown_says_why_in_html(service: str, investigator_key: str) -> None:
    import httpx

    cookies = {"tracemark_key": investigator_key}
    for path, status, says in (("/investigations/flows?kind=nonsense", 422, "neither an item kind"),
                                ("/investigations/items/" + "0" * 26, 404, "not found"),
                                ("/investigations/items/short", 422, "at least 26 characters")):
        response = httpx.get(service + path, cookies=cookies)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert says in response.text and 'action="/investigations/search"' in response.text, path
