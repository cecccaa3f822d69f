"""The camera page in a real browser: Debian chromium with a fake camera showing a real code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from api.keys import create_api_key
from scanner.claims import marking_verifier
from tests.scanner.conftest import Demo
from tests.servers import CHROMIUM, camera_args, camera_video, serve_in_thread

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def service(demo: Demo) -> Iterator[str]:
    """The API with the camera page, served by uvicorn on 127.0.0.1 in this process."""
    app = create_app(demo.settings, ledger=demo.ledger, marking_verifier=marking_verifier(demo.ledger))
    with serve_in_thread(app) as url:
        yield url


@pytest.mark.parametrize("story, verdict", [("valid_firearm", "VALID"), ("stolen_then_seized", "SEIZED")])
def test_the_camera_page_shows_the_verdict_of_a_filmed_code(demo: Demo, service: str, tmp_path: Path, story: str, verdict: str):
    from playwright.sync_api import expect, sync_playwright

    video = camera_video(demo.code(story), tmp_path)
    token = create_api_key(demo.ledger, "de-customs", "camera test").token
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=camera_args(video))
        try:
            page = browser.new_page(viewport={"width": 412, "height": 915})  # a phone screen
            wasm = []
            page.on("response", lambda r: wasm.append(r.headers.get("content-type")) if r.url.endswith(".wasm") else None)
            page.goto(f"{service}/scan?country=DE&direction=inland&location=FRA%20cargo")
            page.fill("#key", token)
            result = page.locator("#verdict")
            expect(result).to_have_attribute("data-verdict", verdict, timeout=30_000)
            expect(page.locator("#facts")).to_contain_text(demo.result.items[story])
            page.screenshot(path=str(tmp_path / f"camera-{story}.png"), full_page=True)
            decoder = page.locator("#decoder").inner_text()
            if "zxing-wasm" in decoder:
                assert wasm == ["application/wasm"]
        finally:
            browser.close()
    assert (tmp_path / f"camera-{story}.png").stat().st_size > 10_000
