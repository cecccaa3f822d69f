"""A demo log anchored three times on web3's in-process chain, kept as a SQLite file to copy."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from eth_account import Account
from web3 import EthereumTesterProvider, Web3

from ledger.anchoring.contract import Anchor, AnchorClient, deploy, log_id_for
from ledger.anchoring.worker import AnchorWorker, Schedule
from ledger.config import Settings, init_log, open_ledger
from ledger.demo import DemoResult, _firearm, run_demo
from ledger.log.codec import utc_now
from ledger.store.ledger import Ledger


@dataclass(frozen=True)
class AnchoredDemo:
    settings: Settings
    path: Path
    result: DemoResult
    anchors: list[Anchor]
    chain_id: int

    def copy(self, to: Path) -> Ledger:
        """A fresh copy of the pristine database, opened with the log's key."""
        to.write_bytes(self.path.read_bytes())
        return open_ledger(Settings(db_url=f"sqlite:///{to}", home=self.settings.home, origin=self.settings.origin))


def grow(ledger: Ledger, result: DemoResult, tag: str, count: int) -> None:
    """Append `count` firearms marked by the demo's Beretta, serials `<tag>-<n>`."""
    maker = result.parties["it-beretta"]
    for n in range(count):
        uid, marking = _firearm(maker, f"{tag}-{n}", "APX A1")
        ledger.append(maker.envelope("mark_firearm", utc_now() - timedelta(minutes=1), None, item=uid, marking=marking))


def build(root: Path, rounds: int = 3, per_round: int = 5) -> AnchoredDemo:
    """Run the demo, anchor, then grow by `per_round` firearms and anchor again, `rounds` times in all."""
    path = root / "demo.db"
    settings = Settings(db_url=f"sqlite:///{path}", home=root / "home", origin="reliability.tracemark.local/log")
    ledger = init_log(settings)
    w3 = Web3(EthereumTesterProvider())
    owner = Account.create()
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": owner.address, "value": 10**18}))
    client = AnchorClient(w3, owner, deploy(w3, owner))
    worker = AnchorWorker(ledger, client, log_id_for(settings.origin), Schedule(every_entries=1, every_seconds=3600))
    result = run_demo(ledger, items=20)
    for round_ in range(rounds):
        if round_:
            grow(ledger, result, f"ROUND{round_}", per_round)
        assert worker.step().action == "anchored"
    anchors = client.anchors(log_id_for(settings.origin))
    ledger.db.dispose()
    with sqlite3.connect(path) as db:  # fold the WAL into the file so one file copy is the whole log
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return AnchoredDemo(settings, path, result, anchors, client.chain_id)
