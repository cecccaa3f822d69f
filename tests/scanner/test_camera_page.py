"""The camera page in a real browser: Debian chromium with a fake camera showing a real code."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from api.keys import create_api_key
from scanner.claims import marking_verifier
from scanner.render import png
from tests.scanner.conftest import Demo
from tests.servers import CHROMIUM, ensure_debian, serve_in_thread

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def service(demo: Demo) -> Iterator[str]:
    """The API with the camera page, served by uvicorn on 127.0.0.1 in this process."""
    app = create_app(demo.settings, ledger=demo.ledger, marking_verifier=marking_verifier(demo.ledger))
    with serve_in_thread(app) as url:
        yield url


def _camera_video(code: str, folder: Path) -> Path:
    """A 4 s y4m of the printed code, as the issue's ffmpeg line makes it, framed for a 640x480 camera."""
    (folder / "code.png").write_bytes(png(code, module_px=6))
    video = folder / "code.y4m"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-loop", "1", "-i", str(folder / "code.png"), "-t", "4", "-r", "15",
                    "-vf", "scale=-2:440,pad=640:480:(ow-iw)/2:(oh-ih)/2:white", "-pix_fmt", "yuv420p", str(video)],
                   check=True)
    return video


@pytest.mark.parametrize("story, verdict", [("valid_firearm", "VALID"), ("stolen_then_seized", "SEIZED")])
def test_the_camera_page_shows_the_verdict_of_a_filmed_code(demo: Demo, service: str, tmp_path: Path, story: str, verdict: str):
    ensure_debian("chromium", "ffmpeg")
    from playwright.sync_api import expect, sync_playwright

    video = _camera_video(demo.code(story), tmp_path)
    token = create_api_key(demo.ledger, "de-customs", "camera test").token
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}", "--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 412, "height": 915})  # a phone screen
            wasm = []
            page.on("response", lambda r: wasm.append(r.headers.get("content-type")) if r.url.endswith(".wasm") else None)
            page.goto(f"{service}/scan?key={token}&country=DE&direction=inland&location=FRA%20cargo")
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
