"""The border agent's camera page in a real browser: Debian chromium at phone and desktop sizes, with a
fake camera filming a real code, as an officer meets it.

Screenshots go to $TRACEMARK_SCREENSHOTS when set, else to the test's temporary folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import qrcode
from PIL import Image
from sqlmodel import select

from api.app import create_app
from api.keys import create_api_key, revoke_api_key
from api.managed import create_managed_key
from api.ratelimit import RateLimits
from ledger import SUFFIX, item_proof
from ledger.store.tables import Entry
from scanner.claims import marking_verifier
from scanner.render import png
from tests.scanner.conftest import Demo
from tests.servers import CHROMIUM, camera_args, camera_video, ensure_debian, serve_in_thread

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
API = ("/v1/", "/scan/seize")


@pytest.fixture(scope="module")
def service(demo: Demo) -> Iterator[str]:
    """The API with the camera page, served by uvicorn on 127.0.0.1 in this process; the scanning
    parties have managed keys, so their inspections are recorded."""
    registry = demo.result.parties["registry"].account
    for party in ("de-customs", "de-police"):
        create_managed_key(demo.ledger, demo.settings, party, registry, iterations=2**10)
    app = create_app(demo.settings, ledger=demo.ledger, marking_verifier=marking_verifier(demo.ledger),
                     rate_limits=RateLimits(0, 0))
    with serve_in_thread(app) as url:
        yield url


@contextmanager
def officer_page(viewport: dict[str, int], video: Path | None = None) -> Iterator[tuple[Any, list[str]]]:
    """A chromium page (with a fake camera filming `video`, or no camera at all) and the API requests it sends."""
    ensure_debian("chromium")
    from playwright.sync_api import sync_playwright

    args = camera_args(video) if video is not None else ["--no-sandbox"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page(viewport=viewport)
            sent: list[str] = []
            page.on("request", lambda r: sent.append(f"{r.method} {urlparse(r.url).path}")
                    if urlparse(r.url).path.startswith(API) else None)
            yield page, sent
        finally:
            browser.close()


def sign_in(page: Any, token: str) -> None:
    page.fill("#key", token)
    page.click("#signin button[type=submit]")


def inspections(demo: Demo, uid: str) -> int:
    with demo.ledger.reading() as session:
        return sum(1 for entry in session.exec(select(Entry.seq).where(Entry.item_uid == uid, Entry.event_type == "inspect")))


@pytest.mark.parametrize("viewport", SIZES)
def test_nothing_is_sent_before_sign_in_and_a_refused_key_is_told_plainly(demo: Demo, service: str, shots: Path, viewport):
    from playwright.sync_api import expect

    with officer_page(viewport) as (page, sent):
        page.goto(f"{service}/scan")
        expect(page.locator("#signin")).to_be_visible()
        expect(page.locator("#scanner")).to_be_hidden()
        page.click("#signin button[type=submit]")
        expect(page.locator("#signin-problem")).to_have_text("Enter your API key to sign in.")
        assert sent == [], "nothing leaves the page before the officer signs in"

        sign_in(page, "tmk_0123456789abcdef_" + "A" * 43)
        expect(page.locator("#signin-problem")).to_contain_text("This key was not accepted")
        page.screenshot(path=str(shots / f"signin-refused-{viewport['width']}.png"), full_page=True)
        sign_in(page, create_api_key(demo.ledger, "de-jagd-schmidt", "page test").token)
        expect(page.locator("#signin-problem")).to_contain_text("only customs and police scan")
        assert "bearer" not in page.locator("body").inner_text().lower()
        assert sent == ["GET /v1/me", "GET /v1/me"]

        sign_in(page, create_api_key(demo.ledger, "de-customs", "page test").token)
        expect(page.locator("#party")).to_have_text("Zoll Frankfurt am Main Flughafen, customs of Germany")
        expect(page.locator("#direction")).to_be_visible()
        for direction in ("import", "export", "transit"):
            expect(page.locator(f"input[name=direction][value={direction}]")).not_to_be_checked()
        expect(page.locator("input[value=inland]")).to_be_hidden()  # customs work at the border
        expect(page.locator("#scanner")).to_be_hidden()
        page.screenshot(path=str(shots / f"signed-in-{viewport['width']}.png"), full_page=True)
    assert sent == ["GET /v1/me"] * 3


@pytest.mark.parametrize("viewport", SIZES)
def test_a_filmed_code_is_checked_once_and_shown_in_plain_words(demo: Demo, service: str, tmp_path: Path, shots: Path, viewport):
    """The seized Beretta in front of the camera: one scan, one recorded inspection, however long it stays in view."""
    from playwright.sync_api import expect

    uid = demo.result.items["stolen_then_seized"]
    before = inspections(demo, uid)
    with officer_page(viewport, camera_video(demo.code("stolen_then_seized"), tmp_path)) as (page, sent):
        page.goto(f"{service}/scan?location=FRA%20cargo%20{viewport['width']}")  # one inspection event per test: the clock stands still
        sign_in(page, create_api_key(demo.ledger, "de-customs", "camera test").token)
        page.check("input[name=direction][value=import]")
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "SEIZED", timeout=30_000)
        expect(page.locator("#headline")).to_have_text("Under seizure")
        expect(page.locator("#action")).to_have_text("Detain the item. Call the seizing authority: Police Federale, Liege.")
        facts = page.locator("#facts")
        expect(facts).to_contain_text("PX4-DE-001")
        expect(facts).to_contain_text("Italy")
        assert uid not in facts.inner_text() and "[" not in facts.inner_text() and "{" not in facts.inner_text()
        custody = page.locator("#custody li")
        expect(custody.first).to_contain_text("private owner, since ")
        expect(custody.last).to_contain_text("Fabbrica d'Armi Pietro Beretta S.p.A., since ")
        assert "T" not in custody.last.inner_text().rsplit("since ", 1)[1], "a date as people write it, not ISO 8601"
        expect(page.locator("#recorded")).to_have_text("This inspection is recorded in the ledger.")
        expect(page.locator("#seize")).to_be_hidden()  # already seized
        page.screenshot(path=str(shots / f"camera-seized-{viewport['width']}.png"), full_page=True)
        # The code stays in view for longer than the page once waited before scanning it again.
        page.wait_for_timeout(11_000)
        expect(page.locator("#state")).to_contain_text("Already checked at")
    assert [request for request in sent if request == "POST /v1/scan"] == ["POST /v1/scan"]
    assert inspections(demo, uid) == before + 1


def test_with_no_camera_and_a_foreign_code_the_officer_types_the_serial(demo: Demo, service: str, tmp_path: Path, shots: Path):
    """The camera fails; a photo shows a code that is no Tracemark code; the page says to type the serial, and that works."""
    from playwright.sync_api import expect

    foreign = tmp_path / "foreign.png"
    foreign.write_bytes(png("HTTPS://EXAMPLE.COM/PRODUCT/12345", module_px=5))
    with officer_page(PHONE) as (page, sent):
        page.goto(f"{service}/scan")
        sign_in(page, create_api_key(demo.ledger, "de-police", "no camera").token)
        expect(page.locator("input[value=inland]")).to_be_visible()
        page.check("input[name=direction][value=inland]")
        expect(page.locator("#state")).to_contain_text("The camera cannot be used")
        expect(page.locator("#state")).to_contain_text("Type the serial or take a photo of the label")
        page.set_input_files("#photo", str(foreign))
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "MALFORMED_CODE", timeout=30_000)
        expect(page.locator("#headline")).to_have_text("Code unreadable or damaged")
        expect(page.locator("#action")).to_have_text("Hold the item. Type the serial printed on it below.")
        expect(page.locator("#serial")).to_be_focused()
        for section in ("#facts", "#custody", "#seize"):
            expect(page.locator(section)).to_be_hidden()
        page.screenshot(path=str(shots / "foreign-code.png"), full_page=True)
        page.click("#typed button[type=submit]")
        expect(page.locator("#typed-problem")).to_have_text("Type the serial printed on the item.")
        page.fill("#serial", "PX4 DE 002")
        page.click("#typed button[type=submit]")
        expect(page.locator("#typed-problem")).to_contain_text("A serial has only letters, digits and . / -")
        page.fill("#serial", "px4-de-002")
        page.fill("#maker", "Beretta")
        page.click("#typed button[type=submit]")
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "SERIAL_NOT_AUTHENTICATED", timeout=15_000)
        expect(page.locator("#headline")).to_have_text("Serial registered, label not checked")
        expect(page.locator("#facts")).to_contain_text("APX A1")
        expect(page.locator("#typed-problem")).to_be_hidden()
        page.screenshot(path=str(shots / "typed-serial.png"), full_page=True)
    assert sent.count("POST /v1/scan") == 2


def test_a_photo_of_the_label_is_decoded_in_the_browser(demo: Demo, service: str, tmp_path: Path, shots: Path):
    from playwright.sync_api import expect

    photo = tmp_path / "label.png"
    photo.write_bytes(png(demo.code("valid_firearm"), module_px=5))
    with officer_page(DESKTOP) as (page, sent):
        page.goto(f"{service}/scan")
        sign_in(page, create_api_key(demo.ledger, "de-police", "photo").token)
        page.check("input[name=direction][value=inland]")
        page.set_input_files("#photo", str(photo))
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "VALID", timeout=30_000)
        expect(page.locator("#headline")).to_have_text("No problem found")
        expect(page.locator("#action")).to_have_text("Release the item.")
        expect(page.locator("#seize")).to_be_visible()
        page.screenshot(path=str(shots / "photo-valid.png"), full_page=True)

        blank = tmp_path / "blank.png"
        Image.new("RGB", (400, 300), "white").save(blank)
        page.set_input_files("#photo", str(blank))
        expect(page.locator("#state")).to_contain_text("No code found in the photo")
    assert sent.count("POST /v1/scan") == 1


def test_an_error_shows_no_facts_custody_or_seizure_button(demo: Demo, service: str, shots: Path):
    """A key revoked while the officer works: the page says so and asks for a key; a failing service
    leaves nothing of an earlier answer on screen."""
    from playwright.sync_api import expect

    issued = create_api_key(demo.ledger, "de-police", "revoked mid-shift")
    with officer_page(PHONE) as (page, sent):
        page.goto(f"{service}/scan")
        sign_in(page, issued.token)
        page.check("input[name=direction][value=inland]")
        page.fill("#serial", "PX4-DE-002")
        page.fill("#maker", "BER")
        page.click("#typed button[type=submit]")
        expect(page.locator("#facts")).to_be_visible(timeout=15_000)
        expect(page.locator("#seize")).to_be_visible()

        page.route("**/v1/scan", lambda route: route.fulfill(status=503, content_type="application/problem+json",
                                                            body='{"status": 503, "title": "Service Unavailable", "detail": "database"}'))
        page.fill("#serial", "PX4-DE-001")
        page.click("#typed button[type=submit]")
        expect(page.locator("#headline")).to_have_text("Not checked")
        expect(page.locator("#action")).to_contain_text("The service failed (error 503)")
        for section in ("#facts", "#custody", "#seize", "#why"):
            expect(page.locator(section)).to_be_hidden()
        expect(page.locator("#retry")).to_be_visible()
        page.screenshot(path=str(shots / "error.png"), full_page=True)
        page.unroute("**/v1/scan")

        revoke_api_key(demo.ledger, issued.id)
        page.click("#retry")
        expect(page.locator("#signin")).to_be_visible()
        expect(page.locator("#signin-problem")).to_contain_text("This key was not accepted")
        expect(page.locator("#scanner")).to_be_hidden()
        assert "bearer" not in page.locator("body").inner_text().lower()


def test_a_lost_gun_is_seized_from_the_page(demo: Demo, service: str, shots: Path):
    from playwright.sync_api import expect

    uid = demo.result.items["lost"]
    with officer_page(PHONE) as (page, sent):
        page.goto(f"{service}/scan?location=Frankfurt%20Hbf")
        sign_in(page, create_api_key(demo.ledger, "de-police", "seizure").token)
        page.check("input[name=direction][value=inland]")
        page.fill("#serial", "GLK-DE-1002")
        page.fill("#maker", "GLK")
        page.click("#typed button[type=submit]")
        expect(page.locator("#headline")).to_have_text("Reported lost or stolen", timeout=15_000)
        expect(page.locator("#action")).to_have_text("Detain the item. Call the police.")
        expect(page.locator("#why")).to_contain_text("GLK-DE-1002")
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.click("#seize")
        form = page.get_by_role("form", name="Record a seizure")
        expect(form).to_be_visible()
        expect(page.locator("#seize")).to_have_attribute("aria-expanded", "true")
        reason = page.get_by_label("Reason for the seizure")
        expect(reason).to_be_focused()
        expect(reason).to_have_value("held at inspection: Reported lost or stolen")
        page.get_by_role("button", name="Cancel").click()  # the officer thinks again: nothing is sent
        expect(form).to_be_hidden()
        assert "POST /scan/seize" not in sent

        page.click("#seize")
        reason.fill("")
        page.get_by_role("button", name="Confirm seizure").click()
        expect(page.locator("#seizure-problem")).to_have_text("Write why the item is seized.")
        assert "POST /scan/seize" not in sent
        reason.fill("found at a station locker")
        page.screenshot(path=str(shots / f"seizure-form-{page.viewport_size['width']}.png"), full_page=True)
        page.get_by_role("button", name="Confirm seizure").click()
        expect(page.locator("#seized")).to_have_text("Seizure recorded.")
        expect(page.locator("#seize")).to_be_hidden()
        expect(form).to_be_hidden()
        page.screenshot(path=str(shots / "seized.png"), full_page=True)
    assert dialogs == [], "no browser dialog: the reason is asked on the page"
    assert sent.count("POST /scan/seize") == 1
    item = demo.ledger.item(uid)
    assert (item.status, item.seized_by) == ("seized", "de-police")


QR_MAX_BYTES = 2953
"""The most a QR code holds in byte mode: version 40 (177 x 177 modules) at error correction L."""


def test_a_shipment_proof_is_verified_and_its_entry_shown_and_a_forged_one_is_not(demo: Demo, service: str, tmp_path: Path, shots: Path):
    """The papers' .tlog-proof file opened on the page; its entry altered, the page says it proves nothing."""
    from playwright.sync_api import expect

    uid = demo.result.items["valid_firearm"]
    proof = item_proof(demo.ledger, uid)
    good = tmp_path / f"{uid}{SUFFIX}"
    good.write_text(proof.text())
    assert proof.extra is not None
    forged = tmp_path / f"forged{SUFFIX}"
    forged.write_text(replace(proof, extra=proof.extra.replace(b'"recorded":"', b'"recorded":"1')).text())
    with officer_page(PHONE) as (page, sent):
        page.goto(f"{service}/scan")
        sign_in(page, create_api_key(demo.ledger, "de-customs", "papers").token)
        page.check("input[name=direction][value=import]")
        expect(page.locator("#fallback")).to_contain_text("more than a QR code a camera can read holds")
        page.set_input_files("#proof-file", str(good))
        expect(page.locator("#proof-verdict")).to_have_attribute("data-verdict", "PROVEN", timeout=30_000)
        expect(page.locator("#proof-headline")).to_have_text("Proof verified")
        expect(page.locator("#proven")).to_contain_text(uid)
        expect(page.locator("#proven")).to_contain_text(f"entry {proof.index}")
        expect(page.locator("#result")).to_be_hidden()
        page.screenshot(path=str(shots / "proof-verified.png"), full_page=True)

        page.set_input_files("#proof-file", str(forged))
        expect(page.locator("#proof-verdict")).to_have_attribute("data-verdict", "NOT_PROVEN", timeout=30_000)
        expect(page.locator("#proof-action")).to_contain_text(f"entry {proof.index} is not in the checkpoint")
        expect(page.locator("#proven")).to_be_empty()
        page.screenshot(path=str(shots / "proof-forged.png"), full_page=True)
    assert sent.count("POST /v1/proofs/tlog-proof") == 2 and "POST /v1/scan" not in sent


def test_a_proof_read_as_a_qr_code_is_recognised_and_verified(demo: Demo, service: str, tmp_path: Path, shots: Path):
    """A proof without witness cosignatures fits the largest QR code (an ML-DSA-44 cosignature alone is
    3,244 base64 characters, more than any QR holds); read from a photo, the page checks it as a proof."""
    from playwright.sync_api import expect

    text = item_proof(demo.ledger, demo.result.items["valid_firearm"]).text()
    assert len(text.encode()) <= QR_MAX_BYTES, f"{len(text.encode())} bytes"
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=4, border=4)
    code.add_data(text.encode(), optimize=0)
    photo = tmp_path / "papers.png"
    code.make_image().save(photo)
    with officer_page(DESKTOP) as (page, sent):
        page.goto(f"{service}/scan")
        sign_in(page, create_api_key(demo.ledger, "de-customs", "papers qr").token)
        page.check("input[name=direction][value=transit]")
        page.set_input_files("#photo", str(photo))
        expect(page.locator("#proof-verdict")).to_have_attribute("data-verdict", "PROVEN", timeout=30_000)
        page.screenshot(path=str(shots / "proof-qr.png"), full_page=True)
    assert sent.count("POST /v1/proofs/tlog-proof") == 1 and "POST /v1/scan" not in sent
