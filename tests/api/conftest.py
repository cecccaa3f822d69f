"""API fixtures: the app over the test's ledger (SQLite and PostgreSQL), a client, API keys per party, and a browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.keys import create_api_key
from ledger.config import Settings
from tests.servers import CHROMIUM, ensure_debian
from tests.support import World


@pytest.fixture
def world(ledger) -> World:  # noqa: ANN001
    return World(ledger)


@pytest.fixture
def client(settings: Settings, ledger, world: World) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(create_app(settings, ledger=ledger), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def auth(ledger) -> Callable[[str], dict[str, str]]:  # noqa: ANN001
    """`auth("ke-customs")`: headers carrying a fresh API key of that party."""
    tokens: dict[str, str] = {}

    def headers(party: str) -> dict[str, str]:
        if party not in tokens:
            tokens[party] = create_api_key(ledger, party, "test").token
        return {"Authorization": f"Bearer {tokens[party]}"}

    return headers


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian chromium through Playwright, one per test module (each test opens its own context)."""
    ensure_debian("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def assert_problem(response, status: int, type_suffix: str) -> dict:  # noqa: ANN001
    """The response is RFC 9457 problem+json of that status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "https://tracemark.dev/problems/" + type_suffix, body
    assert body["detail"]
    return body
