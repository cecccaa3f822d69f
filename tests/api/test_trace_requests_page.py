"""The investigators' trace-request page in a real browser (Debian chromium) between two real
national logs (`tracemark serve` on PostgreSQL for Germany, on SQLite for Kenya), at phone and
desktop sizes: a Kenyan investigator asks from Kenya's page, a German investigator grants or
refuses on Germany's page, and Kenya's page shows the verified custody chain or the refusal.

Screenshots go to $TRACEMARK_SCREENSHOTS when set (CI keeps them as artifacts), else to a temporary folder.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.keys import create_api_key
from api.managed import create_managed_key
from ledger import format_time, load_keystore, new_account, open_ledger, sign_event
from ledger.demo import DE_PARTIES, KE_PARTIES
from ledger.log.checkpoint import LogKey
from tests.conftest import fresh_postgres_schema
from tests.federation.test_trace_requests import make_log
from tests.federation.test_two_logs import Log
from tests.servers import free_port

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PAGE = "/investigations/trace-requests"


@dataclass
class Site:
    """One national log's server and the API keys of its people."""

    log: Log
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.log.server.url

    def requests(self) -> list[dict[str, Any]]:
        investigator = next(party for party in self.tokens if party in ("de-bka", "ke-dci"))
        answer = httpx.get(f"{self.url}/v1/trace-requests", headers={"Authorization": f"Bearer {self.tokens[investigator]}"}, timeout=30)
        assert answer.status_code == 200, answer.text
        return list(answer.json())


def keys_for(log: Log, parties: tuple[str, ...], investigator: tuple[str, str, str, str, bool]) -> dict[str, str]:
    """The log's own `investigator` registered with a server-held key (the page signs with it), and API
    keys for it and `parties`, all authorised by the log's admin."""
    ledger = open_ledger(log.settings)
    admin = load_keystore(log.settings.keys_dir / "registry.json", "pass")
    party, name, role, country, _ = investigator
    event = {"type": "register_party", "actor": "registry", "time": format_time(ledger.clock()),
             "party": {"id": party, "name": name, "role": role, "country": country, "addresses": [new_account().address]}}
    ledger.append(sign_event(admin, event, origin=ledger.origin))
    create_managed_key(ledger, log.settings, party, admin, iterations=2**10)
    tokens = {party: create_api_key(ledger, party, "page test").token for party in (*parties, party)}
    ledger.db.dispose()
    return tokens


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Site, list[str]]]:
    """Germany (PostgreSQL, six pistols shipped to a dealer, sharing facts with Kenya) and Kenya (SQLite,
    peered with Germany and with a French log that never answers); their investigators, de-bka and ke-dci."""
    folder = tmp_path_factory.mktemp("trace-request-page")
    with ExitStack() as stack, pytest.MonkeyPatch.context() as env:
        env.setenv("TRACEMARK_PEER_TIMEOUT", "20")  # a loaded test machine
        de_log, uids = make_log("de", stack.enter_context(fresh_postgres_schema()), folder, items=6)
        ke_log, _ = make_log("ke", f"sqlite:///{folder / 'ke.db'}", folder)
        de = Site(de_log, keys_for(de_log, ("de-police", "de-jagd-schmidt"), next(p for p in DE_PARTIES if p[0] == "de-bka")))
        ke = Site(ke_log, keys_for(ke_log, (), next(p for p in KE_PARTIES if p[0] == "ke-dci")))
        for log in (de_log, ke_log):
            log.server.start()
            stack.callback(log.server.stop)
        de_log.peers("add", "ke", "--origin", ke_log.settings.origin, "--vkey", ke_log.vkey, "--url", ke_log.server.url, "--country", "KE",
                     "--share", "facts")
        ke_log.peer_with(de_log)
        france = LogKey.generate("registry.fr.example/log")
        ke_log.peers("add", "fr", "--origin", france.name, "--vkey", france.verifier_key, "--url", f"http://127.0.0.1:{free_port()}",
                     "--country", "FR")
        yield de, ke, uids


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def size(request: pytest.FixtureRequest) -> dict[str, int]:
    return dict(request.param)


class Desk:
    """A person's browser on one log's trace-request page, signed in through the login form; it
    records the forms it posts to the page, so a test can say that none was."""

    def __init__(self, browser: Any, size: dict[str, int], site: Site, party: str, shots: Path) -> None:
        self.context = browser.new_context(viewport=size)
        self.page = self.context.new_page()
        self.site, self.shots, self.size = site, shots, "phone" if size == PHONE else "desktop"
        self.posts: list[str] = []
        self.page.on("request", lambda request: self.posts.append(request.url) if request.method == "POST" and PAGE in request.url else None)
        self.page.goto(f"{site.url}/investigations/login")
        self.page.fill("input[name=key]", site.tokens[party])
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_url(f"{site.url}/investigations/flows")
        self.page.click("nav >> text=Trace requests")
        self.page.wait_for_url(f"{site.url}{PAGE}")

    def card(self, side: str, reason: str) -> Any:
        return self.page.locator(f"#{side} article.request", has_text=reason)

    def reload_until(self, side: str, reason: str, state: str, seconds: float = 30) -> Any:
        """The request's card once it reads `state` (the peer's answer comes on its own, within seconds)."""
        card = self.card(side, reason)
        end = time.monotonic() + seconds
        while card.locator(".state").inner_text().lower() != state and time.monotonic() < end:
            time.sleep(0.5)
            self.page.reload()
        return card

    def shot(self, name: str) -> None:
        assert not self.page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), f"{name} scrolls sideways"
        self.page.screenshot(path=str(self.shots / f"trace-requests-{name}-{self.size}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def ask(desk: Desk, uid: str, reason: str, peer: str = "de") -> int:
    """Send a request from the page; the entry it was logged as here."""
    form = desk.page.locator("form.ask")
    form.locator("select[name=peer]").select_option(peer)
    form.locator("input[name=item]").fill(uid)
    form.locator("textarea[name=reason]").fill(reason)
    form.locator("button[type=submit]").click()
    outcome = desk.card("sent", reason).locator(".outcome")
    from playwright.sync_api import expect

    expect(outcome).to_contain_text("Sent: logged here as entry")
    found = re.search(r"entry (\d+), and in Germany's log as entry \d+", outcome.inner_text())
    assert found, outcome.inner_text()
    return int(found.group(1))


def test_a_request_asked_on_the_page_is_granted_on_the_peers_page_and_comes_back_verified(
        sites: tuple[Site, Site, list[str]], browser: Any, size: dict[str, int], shots: Path) -> None:
    from playwright.sync_api import expect

    de, ke, uids = sites
    uid = uids[0] if size == DESKTOP else uids[1]
    reason = f"pistol found at Namanga border post ({size['width']} px)"
    asking, granting = Desk(browser, size, ke, "ke-dci", shots), Desk(browser, size, de, "de-bka", shots)
    try:
        seq = ask(asking, uid, reason)
        sent = asking.card("sent", reason)
        expect(sent.locator(".state")).to_have_text("open")
        expect(sent).to_contain_text("asked of Germany")
        expect(sent).to_contain_text("Directorate of Criminal Investigations")  # the requester by name, not by id
        asking.shot("sent")

        granting.page.reload()
        arrived = granting.card("received", reason)
        expect(arrived.locator(".state")).to_have_text("open")
        expect(arrived.locator("h3")).to_contain_text("Beretta APX A1 ·")  # the item as people know it
        expect(arrived).to_contain_text("asked by ke-dci of Kenya")
        expect(arrived).to_contain_text(f"entry in ke’s log{seq}")
        expect(arrived.locator("time").first).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
        expect(arrived.locator(".sends")).to_contain_text("the item's facts")
        granting.shot("received")
        arrived.locator("button.grant").click()
        expect(arrived.locator(".outcome")).to_contain_text("Granted (entry")
        expect(arrived.locator(".state")).to_have_text("answered")
        expect(arrived.locator(".decision")).to_contain_text("Granted by Bundeskriminalamt")

        answered = asking.reload_until("sent", reason, "answered")
        expect(answered.locator(".state")).to_have_text("answered")
        expect(answered.locator(".verified")).to_contain_text("Verified: all 3 steps are in Germany’s checkpoint of size")
        expect(answered.locator("h3")).to_contain_text("Beretta APX A1 ·")  # named by the facts Germany shares
        steps = answered.locator("table.steps tbody tr")
        expect(steps).to_have_count(3)
        expect(steps.nth(0)).to_contain_text("mark firearm")
        expect(steps.nth(2)).to_contain_text("receive")
        asking.shot("answered")
        granting.shot("granted")
    finally:
        asking.close()
        granting.close()
    assert next(row for row in ke.requests() if row["seq"] == seq)["state"] == "answered"


def test_a_request_refused_on_the_peers_page_comes_back_with_the_reason(
        sites: tuple[Site, Site, list[str]], browser: Any, size: dict[str, int], shots: Path) -> None:
    from playwright.sync_api import expect

    de, ke, uids = sites
    uid = uids[2] if size == DESKTOP else uids[3]
    reason = f"routine check at Mombasa port ({size['width']} px)"
    why = "a court order is needed for this item"
    asking, refusing = Desk(browser, size, ke, "ke-dci", shots), Desk(browser, size, de, "de-bka", shots)
    try:
        ask(asking, uid, reason)
        refusing.page.reload()
        arrived = refusing.card("received", reason)
        arrived.locator("details.refuse summary").click()
        form = arrived.locator("details.refuse form")
        form.locator("textarea[name=reason]").fill("   ")
        before = len(refusing.posts)
        form.locator("button[type=submit]").click()
        expect(form.locator(".form-problem")).to_have_text("Say why: Kenya is told.")
        assert len(refusing.posts) == before  # refused on the page: nothing was posted
        refusing.shot("refusing")
        form.locator("textarea[name=reason]").fill(why)
        form.locator("button[type=submit]").click()
        expect(arrived.locator(".state")).to_have_text("refused")
        expect(arrived.locator(".decision")).to_contain_text("Refused by Bundeskriminalamt, Waffen und Sprengstoff")
        expect(arrived.locator(".decision")).to_contain_text(why)

        refused = asking.reload_until("sent", reason, "refused")
        expect(refused.locator(".state")).to_have_text("refused")
        expect(refused.locator(".decision")).to_contain_text("Refused by Germany")
        expect(refused.locator(".decision")).to_contain_text(why)
        asking.shot("refused")
    finally:
        asking.close()
        refusing.close()


def test_the_form_refuses_an_empty_reason_or_no_peer_on_the_page_and_shows_the_servers_problem_otherwise(
        sites: tuple[Site, Site, list[str]], browser: Any, shots: Path) -> None:
    from playwright.sync_api import expect

    _, ke, uids = sites
    before = len(ke.requests())
    desk = Desk(browser, PHONE, ke, "ke-dci", shots)
    try:
        form, problem = desk.page.locator("form.ask"), desk.page.locator("form.ask .form-problem")
        form.locator("input[name=item]").fill(uids[4])
        form.locator("textarea[name=reason]").fill("stolen pistol")
        form.locator("button[type=submit]").click()
        expect(problem).to_have_text("Choose the peer log to ask.")  # two peers: none is chosen for the investigator
        form.locator("select[name=peer]").select_option("de")
        form.locator("textarea[name=reason]").fill("  ")
        form.locator("button[type=submit]").click()
        expect(problem).to_have_text("Give a reason: the peer's investigator decides on it.")
        desk.shot("empty-reason")
        assert desk.posts == [] and len(ke.requests()) == before

        form.locator("input[name=item]").fill("NOT-AN-ITEM-ID-00000000000")
        form.locator("textarea[name=reason]").fill("stolen pistol")
        form.locator("button[type=submit]").click()
        expect(desk.page.locator("#problem")).to_contain_text("not an upper-case ULID: 'NOT-AN-ITEM-ID-00000000000'")  # the server's words
        expect(desk.page.locator("form.ask textarea[name=reason]")).to_have_value("stolen pistol")  # what was typed is kept
        desk.shot("server-problem")
        assert len(ke.requests()) == before

        ask_france = "a French pistol seen in Nairobi"
        form.locator("select[name=peer]").select_option("fr")
        form.locator("input[name=item]").fill(uids[4])
        form.locator("textarea[name=reason]").fill(ask_france)
        form.locator("button[type=submit]").click()
        stuck = desk.card("sent", ask_france)
        expect(stuck.locator(".outcome")).to_contain_text("it has not reached France: send it again")
        expect(stuck.locator("p.refused")).to_contain_text("Not arrived at France: ")
        stuck.locator("text=Send again").click()
        expect(stuck.locator(".outcome")).to_contain_text("it has not reached France")
        desk.shot("not-arrived")
    finally:
        desk.close()


def test_a_caller_who_may_not_investigate_is_refused_and_police_may_not_decide_what_they_see_arrive(
        sites: tuple[Site, Site, list[str]], browser: Any, shots: Path) -> None:
    from playwright.sync_api import expect

    de, ke, uids = sites
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"{de.url}{PAGE}")
        expect(page).to_have_url(re.compile(r"/investigations/login\?why=signed-out"))
        page.fill("input[name=key]", de.tokens["de-jagd-schmidt"])
        page.click("form.login button[type=submit]")
        expect(page.locator("#signin-message")).to_contain_text("these pages open with an investigator's, police or customs key")
    finally:
        context.close()
    answer = httpx.get(f"{de.url}{PAGE}", cookies={"tracemark_key": de.tokens["de-jagd-schmidt"]}, follow_redirects=False, timeout=30)
    assert answer.status_code == 303 and "why=role" in answer.headers["location"]

    reason = "police look but do not decide"
    asking = Desk(browser, DESKTOP, ke, "ke-dci", shots)
    police = Desk(browser, PHONE, de, "de-police", shots)
    try:
        ask(asking, uids[5], reason)
        waiting = asking.card("sent", reason)
        waiting.locator("text=Fetch the answer").click()
        expect(waiting.locator(".outcome")).to_have_text("Germany has not decided yet.")
        police.page.reload()
        arrived = police.card("received", reason)
        expect(arrived.locator(".state")).to_have_text("open")
        expect(arrived.locator("button.grant")).to_have_count(0)
        expect(arrived.locator("details.refuse")).to_have_count(0)
        expect(arrived).to_contain_text("Waiting for an investigator of this log")
        police.shot("police")
    finally:
        asking.close()
        police.close()
    arrival = next(row for row in de.requests() if row["reason"] == reason)
    forbidden = httpx.post(f"{de.url}{PAGE}/{arrival['seq']}/grant", cookies={"tracemark_key": de.tokens["de-police"]}, timeout=30)
    assert forbidden.status_code == 403 and "only investigator" in forbidden.text
    assert next(row for row in de.requests() if row["seq"] == arrival["seq"])["state"] == "open"
