"""One item, one verdict: the item's page, `POST /v1/scan`, the offline scanner and the trace agree.

A demo log made by `tracemark demo`, served by `tracemark serve` (a real process over HTTP); a
label's address is opened at the server with the code's host, as a proxy in front of it passes it on. Every demo
label, and a forged one, is photographed (rendered as PNG files) and judged on every surface. (A
sighting that contradicts the record raises an open question, not a verdict: tests/ledger/investigation/test_questions.py.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import select

from ledger.config import Settings, open_ledger
from ledger.demo import DEMO_PASSPHRASE
from ledger.store.tables import Item
from scanner.decode import decode, open_image
from scanner.render import image
from tests.scanner.degrade import DEGRADATIONS
from tests.servers import CHROMIUM, ensure_debian, free_port, stop

TRACEMARK = str(Path(sys.executable).parent / "tracemark")
SERVER_START = 240
"""Seconds a fresh server may take to answer, on a machine busy with other tests."""


@dataclass(frozen=True)
class Served:
    """The served demo log: where it lives, its API, its keys, and each item's label as a photo."""

    folder: Path
    env: dict[str, str]
    url: str
    keys: dict[str, str]  # party id -> API key
    stories: dict[str, str]  # the demo's story name -> item uid
    photos: dict[str, Path]  # item uid -> photo of its label
    codes: dict[str, str]  # item uid -> the label's code
    bundle: Path


def tracemark(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([TRACEMARK, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    return done


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the fresh server answers; a server that exits, or is still silent after SERVER_START seconds, fails the test."""
    deadline = time.monotonic() + SERVER_START
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"tracemark serve did not answer in {SERVER_START} s: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("one-verdict")
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRACEMARK_")}
    env |= {"TRACEMARK_DB": f"sqlite:///{folder / 'tracemark.db'}", "TRACEMARK_HOME": str(folder / "home"),
            "TRACEMARK_KEY_PASSPHRASE": DEMO_PASSPHRASE}
    made = tracemark(folder, env, "demo", "--items", "2")
    assert made.returncode == 0, made.stderr[-3000:]
    stories = dict(re.findall(r"^\s+(\w+)\s+([0-9A-HJKMNP-TV-Z]{26})$", made.stdout, re.MULTILINE))
    log = folder / "serve.log"
    with log.open("ab") as out:
        process = subprocess.Popen([TRACEMARK, "serve", "--port", str(port)], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process, log)
        keys = {party: info["api_key"] for party, info in json.loads((folder / "home" / "api-keys.json").read_text()).items()}
        ledger = open_ledger(Settings(db_url=env["TRACEMARK_DB"], home=folder / "home"))
        with ledger.reading() as session:
            uids = sorted(session.exec(select(Item.uid)))
        ledger.db.dispose()
        labels = tracemark(folder, env, "labels", "--items", ",".join(uids), "--out", str(folder / "labels.pdf"), "--png", str(folder / "labels"))
        assert labels.returncode == 0, labels.stderr[-3000:]
        photos, codes = _photograph(folder, uids)
        bundle = tracemark(folder, env, "bundle", "export", "--out", str(folder / "bundle.json"))
        assert bundle.returncode == 0, bundle.stderr[-3000:]
        yield Served(folder, env, url, keys, stories, photos, codes, folder / "bundle.json")
    finally:
        stop(process, 20)


def _photograph(folder: Path, uids: list[str]) -> tuple[dict[str, Path], dict[str, str]]:
    """Each label photographed (a real label tilted on paper), and the code each photo decodes to."""
    shots = folder / "photos"
    shots.mkdir()
    photos, codes = {}, {}
    for uid in uids:
        label = open_image(folder / "labels" / f"{uid}.png")
        photos[uid] = shots / f"{uid}.png"
        DEGRADATIONS["rotated_15"](label).save(photos[uid])
        decoded = decode(open_image(photos[uid])).texts
        assert len(decoded) == 1, f"the photo of {uid}'s label does not decode"
        codes[uid] = decoded[0]
    return photos, codes


def _forged(code: str) -> str:
    """The code with its signature's last characters changed: what a forger who copies a label but alters it prints."""
    return code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")


def _page_verdict(served: Served, code: str) -> tuple[str, str]:
    """The verdict the item's page shows for a code opened as a phone opens it (at the code's host, which
    a proxy in front of the server passes on), and the colour of its status chip."""
    address = urlsplit(code)
    page = httpx.get(served.url + address.path, headers={"Host": address.netloc}, timeout=60)
    assert page.status_code == 200, page.text[:500]
    verdict = re.search(r'<p class="verdict (\w+)"><strong>([A-Z ]+)</strong>', page.text)
    chip = re.search(r'<span class="status (\w+)">', page.text)
    assert verdict is not None and chip is not None, page.text[:1000]
    return verdict.group(2).replace(" ", "_"), chip.group(1)


def _item(served: Served, uid: str) -> dict:
    answer = httpx.get(f"{served.url}/v1/items/{uid}", headers={"Authorization": f"Bearer {served.keys['investigator']}"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _scan_verdict(served: Served, code: str, country: str) -> str:
    """The API's verdict for an inland check where the item was last seen (else where the ledger has it)."""
    customs = {"DE": "de-customs", "KE": "ke-customs"}.get(country, "be-police")
    answer = httpx.post(served.url + "/v1/scan", headers={"Authorization": f"Bearer {served.keys[customs]}"}, timeout=60,
                        json={"code": code, "country": country, "location": "inland check", "direction": "inland"})
    assert answer.status_code == 200, answer.text
    return answer.json()["verdict"]


def _trace_verdict(served: Served, uid: str) -> str:
    return _trace(served, uid).get("verdict", "(no verdict)")


def _scan_photos(served: Served, photos: list[Path], *mode: str) -> dict[str, str]:
    """`tracemark scan` over photos: each photo's file name -> its verdict."""
    done = tracemark(served.folder, served.env, "scan", *map(str, photos), *mode, "--json")
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == len(photos), done.stdout + done.stderr
    return {Path(line["image"]).name: line["verdict"] for line in lines}


def _place(served: Served, uid: str) -> str:
    """Where an inland check happens: where the ledger has the item."""
    return _item(served, uid)["country"]


def _trace(served: Served, uid: str) -> dict:
    answer = httpx.get(f"{served.url}/v1/trace/{uid}", headers={"Authorization": f"Bearer {served.keys['investigator']}"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_surface_gives_every_demo_code_the_same_verdict(served: Served) -> None:
    forged = served.folder / "photos" / "forged.png"
    forged_of = served.stories["valid_firearm"]
    image(_forged(served.codes[forged_of])).save(forged)
    offline = _scan_photos(served, [*served.photos.values(), forged], "--offline", str(served.bundle))
    cases = [(uid, code, offline[served.photos[uid].name]) for uid, code in served.codes.items()]
    cases.append((forged_of, _forged(served.codes[forged_of]), offline[forged.name]))
    seen = {}
    for uid, code, offline_verdict in cases:
        page, chip = _page_verdict(served, code)
        seen[code] = {"page": page, "scan": _scan_verdict(served, code, _place(served, uid)), "offline": offline_verdict}
        if code == served.codes[uid]:  # the trace judges the item, not a code
            seen[code]["trace"] = _trace_verdict(served, uid)
        assert len(set(seen[code].values())) == 1, f"{uid} ({code}): {seen[code]}"
        assert (chip == "alarm") == (page != "VALID"), f"{uid}: a {chip} status chip on a page saying {page}"
    verdicts = {uid: seen[code]["page"] for uid, code in served.codes.items()}
    stories = served.stories
    assert seen[_forged(served.codes[forged_of])]["page"] == "SIGNATURE_INVALID"
    assert verdicts[stories["valid_firearm"]] == "VALID"
    assert verdicts[stories["never_received"]] == "TRANSFER_NOT_RECEIVED"
    assert verdicts[stories["released"]] == verdicts[stories["bulk_first"]] == "VALID"
    assert verdicts[stories["stolen_then_seized"]] == verdicts[stories["specimen_seized"]] == "SEIZED"
    assert verdicts[stories["lost"]] == "REPORTED_LOST_STOLEN" and verdicts[stories["destroyed"]] == "DESTROYED_DEACTIVATED"


@pytest.mark.browser
def test_a_page_whose_verdict_is_not_valid_shows_no_green_chip(served: Served, shots: Path) -> None:
    """In chromium: the pages of the item never received and of the item seen off its route, beside a valid one."""
    ensure_debian("chromium")
    from playwright.sync_api import sync_playwright

    green = "rgb(223, 243, 228)"  # the `.ok` background of base.html
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 412, "height": 915})
            for story, verdict in (("never_received", "TRANSFER NOT RECEIVED"), ("lost", "REPORTED LOST STOLEN"), ("bulk_first", "VALID")):
                page.goto(f"{served.url}/i/{served.stories[story]}")
                assert page.locator(".verdict strong").inner_text() == verdict
                chip = page.locator(".status").evaluate("chip => getComputedStyle(chip).backgroundColor")
                assert (chip == green) == (verdict == "VALID"), f"{story}: status chip {chip} under {verdict}"
                page.screenshot(path=str(shots / f"item-page-{story}.png"), full_page=True)
        finally:
            browser.close()


def test_online_and_offline_scans_of_every_demo_label_photo_agree(served: Served) -> None:
    """`tracemark scan` of the photos online (one run per country, an inland check where each item is) and offline."""
    offline = _scan_photos(served, list(served.photos.values()), "--offline", str(served.bundle))
    by_place: dict[str, list[Path]] = {}
    for uid, photo in served.photos.items():
        by_place.setdefault(_place(served, uid), []).append(photo)
    online = {}
    for country, photos in by_place.items():
        scanner = {"DE": "de-customs", "KE": "ke-customs"}.get(country, "be-police")
        online |= _scan_photos(served, photos, "--api", served.url, "--key", served.keys[scanner], "--country", country, "--direction", "inland")
    assert online == offline
    assert len(set(offline.values())) > 3, f"the demo's labels cover several verdicts: {offline}"


def test_a_transfer_never_received_is_held_at_a_foreign_border(served: Served) -> None:
    """Last in this module: its border scan would make a later inland check of the item a clone suspicion."""
    uid = served.stories["never_received"]
    answer = httpx.post(served.url + "/v1/scan", headers={"Authorization": f"Bearer {served.keys['de-customs']}"}, timeout=60,
                        json={"code": served.codes[uid], "country": "DE", "location": "A3 Passau", "direction": "transit"})
    body = answer.json()
    assert body["verdict"] == "TRANSFER_NOT_RECEIVED" and body["advice"].startswith("Hold"), body
    assert any("be-armurerie" in reason["detail"] and "not received" in reason["detail"] for reason in body["reasons"])
