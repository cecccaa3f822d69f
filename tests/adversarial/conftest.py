"""A demo log served by a real `tracemark serve` process, attacked over plain HTTP.

Each module of this folder replays one class of attack. The log is made once per module: the demo
data set, an API key for every demo party, and the parties' private keys for signing events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.keys import create_api_key
from ledger.config import Settings, init_log
from ledger.demo import DemoParty, run_demo
from tests.reliability.processes import api_server


@dataclass
class DemoLog:
    """A demo log on disk: where it is, its parties (with their keys) and an API key for each."""

    settings: Settings
    parties: dict[str, DemoParty]
    items: dict[str, str]
    tokens: dict[str, str]

    def auth(self, party: str) -> dict[str, str]:
        """The Authorization header of `party`'s API key."""
        return {"Authorization": f"Bearer {self.tokens[party]}"}


def make_demo_log(folder: Path) -> DemoLog:
    """A fresh SQLite log in `folder` with the demo data set and an API key per party."""
    settings = Settings(db_url=f"sqlite:///{folder / 'tracemark.db'}", home=folder / "home",
                        origin="adversarial.tracemark.local/log")
    ledger = init_log(settings)
    result = run_demo(ledger, items=4)
    tokens = {pid: create_api_key(ledger, pid, "adversarial").token for pid in result.parties}
    ledger.db.dispose()
    return DemoLog(settings, result.parties, result.items, tokens)


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> DemoLog:
    return make_demo_log(tmp_path_factory.mktemp("demo-log"))


@pytest.fixture(scope="module")
def server(demo_log: DemoLog) -> Iterator[str]:
    """The base URL of `tracemark serve` over the module's demo log."""
    with api_server(demo_log.settings, demo_log.settings.home.parent / "server.log") as url:
        yield url
