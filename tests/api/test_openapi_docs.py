"""The API's documentation: /docs renders with no internet, and every example it shows is valid today.

Screenshots go to $TRACEMARK_SCREENSHOTS when set, else to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from api.app import create_app
from api.keys import create_api_key
from scanner.claims import marking_verifier
from scanner.payload import VERSION, parse_payload
from tests.scanner.conftest import Demo, make_demo
from tests.servers import CHROMIUM, ensure_debian, serve_in_thread

DOCS_STATIC = Path(__file__).resolve().parents[2] / "api" / "static" / "docs"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("docs")
    from ledger.config import Settings

    made = make_demo(Settings(db_url=f"sqlite:///{home / 'demo.db'}", home=home / "home", origin="test.tracemark.local/log"))
    yield made
    made.ledger.db.dispose()


@pytest.fixture(scope="module")
def service(demo: Demo) -> Iterator[str]:
    with serve_in_thread(create_app(demo.settings, ledger=demo.ledger, marking_verifier=marking_verifier(demo.ledger))) as url:
        yield url


def documented_examples(document: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """Every (where, schema, example) of an OpenAPI document: schemas' `examples` and media types' `example(s)`."""
    found: list[tuple[str, dict[str, Any], Any]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("examples"), list):  # a JSON Schema's own examples
                found.extend((f"{where}/examples/{n}", node, example) for n, example in enumerate(node["examples"]))
            if "schema" in node and isinstance(node.get("examples"), dict):  # a media type's named examples
                found.extend((f"{where}/examples/{name}", node["schema"], example["value"]) for name, example in node["examples"].items())
            if "schema" in node and "example" in node:
                found.append((f"{where}/example", node["schema"], node["example"]))
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for n, value in enumerate(node):
                walk(value, f"{where}/{n}")

    walk(document, "")
    return found


def test_every_documented_example_is_valid_and_the_scan_examples_scan(demo: Demo, service: str) -> None:
    document = httpx.get(f"{service}/openapi.json").json()
    examples = documented_examples(document)
    wrong = []
    for where, schema, example in examples:
        validator = Draft202012Validator({**schema, "components": document["components"]}, format_checker=FormatChecker())
        wrong += [f"{where}: {error.json_path}: {error.message}" for error in validator.iter_errors(example)]
    assert not wrong, "\n".join(wrong)

    scans = [example for where, _, example in examples if where.startswith("/components/schemas/ScanRequest/")]
    assert {"code", "serial"} <= {key for example in scans for key in example}, "a scanned code and a typed serial are shown"
    headers = {"Authorization": "Bearer " + create_api_key(demo.ledger, "ke-customs", "docs test").token}
    for example in scans:
        answer = httpx.post(f"{service}/v1/scan", json=example, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["verdict"] != "MALFORMED_CODE", answer.json()
        if "code" in example:
            assert parse_payload(example["code"]).version == VERSION, "the example code is in the format labels carry"
        else:  # the demo's clean Beretta, typed off its label
            assert answer.json()["item"]["uid"] == demo.result.items["valid_firearm"]
            assert "SERIAL_NOT_AUTHENTICATED" in {reason["verdict"] for reason in answer.json()["reasons"]}


@pytest.mark.browser
def test_docs_render_with_no_internet(service: str, tmp_path: Path) -> None:
    ensure_debian("chromium")
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("TRACEMARK_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []

    def only_this_machine(route: Any) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", only_this_machine)
            page.goto(f"{service}/docs")
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("Tracemark")
            scan = page.locator(".opblock-post", has_text="/v1/scan").first
            expect(scan).to_be_visible()
            scan.locator(".opblock-summary").click()
            expect(scan.locator(".opblock-body")).to_contain_text("F3*BER*PX4-DE-002")
            page.screenshot(path=str(shots / "docs.png"), full_page=False)
        finally:
            browser.close()
    assert outside == [], f"/docs asked the internet for {outside}"


def test_docs_assets_are_the_pinned_swagger_ui_with_their_mime_types(service: str) -> None:
    pinned = json.loads((DOCS_STATIC / "package.json").read_text())["dependencies"]["swagger-ui-dist"]
    bundle = httpx.get(f"{service}/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert f'PACKAGE_VERSION:"{pinned}"' in bundle.text, "the vendored bundle is the version package.json pins"
    assert httpx.get(f"{service}/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert httpx.get(f"{service}/docs/assets/favicon-32x32.png").content[:8] == b"\x89PNG\r\n\x1a\n"
    assert httpx.get(f"{service}/docs/assets/..%2Fpackage.json").status_code == 404
    assert httpx.get(f"{service}/redoc").status_code == 404, "no page of the service loads from a CDN"
