"""A demo log whose marking parties have issued a QR code for every item."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.config import Settings, init_log
from ledger.demo import DemoResult, run_demo
from ledger.store.ledger import Ledger
from ledger.store.tables import Marking
from scanner.markings import issue_markings
from tests.conftest import NOW


@dataclass
class Demo:
    ledger: Ledger
    settings: Settings
    result: DemoResult
    markings: dict[str, Marking]

    def code(self, story: str) -> str:
        return self.markings[self.result.items[story]].payload


def make_demo(settings: Settings, items: int = 4) -> Demo:
    ledger = init_log(settings)
    ledger.clock = lambda: NOW
    result = run_demo(ledger, keys_dir=settings.keys_dir, items=items, now=NOW)
    ledger.checkpoint()
    accounts = {pid: party.account for pid, party in result.parties.items()}
    markings = {row.uid: row for row in issue_markings(ledger, accounts)}
    return Demo(ledger, settings, result, markings)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo data set on SQLite, shared by a module's tests (they only read it)."""
    home: Path = tmp_path_factory.mktemp("demo")
    settings = Settings(db_url=f"sqlite:///{home / 'demo.db'}", home=home / "home", origin="test.tracemark.local/log")
    made = make_demo(settings)
    yield made
    made.ledger.db.dispose()
