"""Outages: the database going away mid-request (a proxy the test cuts) and the chain node going away."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from ulid import ULID

from api.app import create_app
from api.keys import create_api_key
from ledger.anchoring.contract import AnchorClient, AnchorReceipt, AnchorUnavailable, log_id_for
from ledger.anchoring.worker import AnchorWorker, Schedule, anchor_status
from ledger.audit.recompute import audit
from ledger.config import Settings, init_log, open_ledger
from ledger.domain.events import event_bytes
from ledger.log.codec import sha256
from ledger.log.entry import event_key
from ledger.store.tables import Entry
from tests.api.conftest import assert_problem
from tests.conftest import NOW
from tests.reliability.proxy import Proxy
from tests.support import World


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    proxy = Proxy("127.0.0.1", 5432)
    proxy.start()
    yield proxy
    proxy.close()


@pytest.mark.postgres
def test_the_database_going_away_is_503_with_nothing_partial_and_recovers(postgres_url: str, tmp_path: Path, proxy: Proxy):
    direct = Settings(db_url=postgres_url, home=tmp_path / "home", origin="outage.tracemark.local/log")
    init_log(direct).db.dispose()
    settings = Settings(db_url=postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"), home=direct.home, origin=direct.origin)
    ledger = open_ledger(settings)
    ledger.clock = lambda: NOW
    world = World(ledger)
    headers = {"Authorization": f"Bearer {create_api_key(ledger, 'it-beretta').token}"}
    check = open_ledger(direct)  # the test's own view, around the proxy

    def mark() -> dict:
        return world.envelope("it-beretta", "mark_firearm", item=str(ULID()), marking=world.marking())

    with TestClient(create_app(settings, ledger=ledger), raise_server_exceptions=False) as client:
        assert client.post("/v1/events", json=mark(), headers=headers).status_code == 201
        size = check.size()

        proxy.stop()  # the database is gone
        one = mark()
        assert_problem(client.post("/v1/events", json=one, headers=headers), 503, "database-unavailable")
        assert_problem(client.get("/readyz"), 503, "database-unavailable")
        assert check.size() == size

        proxy.start()  # it is back: the same request now succeeds
        assert client.post("/v1/events", json=one, headers=headers).status_code == 201
        assert client.get("/readyz").status_code == 200
        size += 1

        outcomes = {201: 0, 503: 0}
        for attempt in range(6):  # cut the connection in the middle of a batch append, at varying depths
            batch = [mark() for _ in range(150)]
            answer: list = []
            sent = proxy.bytes_up
            thread = threading.Thread(target=lambda: answer.append(
                client.post("/v1/events:batch", json={"envelopes": batch}, headers=headers)))
            thread.start()
            deadline = time.monotonic() + 30
            while proxy.bytes_up - sent < 4000 * (attempt + 1) and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.001)
            proxy.stop()
            thread.join(60)
            proxy.start()
            status = answer[0].status_code
            assert status in (201, 503), answer[0].text
            if status == 503:
                assert answer[0].headers["content-type"].startswith("application/problem+json")
            outcomes[status] += 1
            hashes = {sha256(event_bytes(e["event"])) for e in batch}
            keys = {event_key(event_bytes(e["event"])) for e in batch}
            with check.reading() as session:
                kept = sum(sha256(event) in hashes for event in session.exec(select(Entry.event).where(Entry.event_key.in_(keys))))
            assert kept in (0, len(batch)), f"a batch was kept in part: {kept} of {len(batch)}"
            assert (kept == len(batch)) == (status == 201)
            size += kept
        assert check.size() == size
        assert outcomes[503] >= 1, outcomes
        print(f"\noutages: database cut mid-batch 6 times: {outcomes[201]} committed whole, {outcomes[503]} answered 503 and kept nothing")
        assert client.post("/v1/events", json=mark(), headers=headers).status_code == 201
    with check.reading() as session:
        assert audit(session, direct.verifier_key(), direct.origin).ok
    ledger.db.dispose()
    check.db.dispose()


@dataclass
class SwitchableNode:
    """A chain node that can be switched off: anchoring calls fail as unreachable while it is down."""

    real: AnchorClient
    down: bool = False

    def _up(self) -> None:
        if self.down:
            raise AnchorUnavailable("Ethereum node unavailable: connection refused")

    @property
    def chain_id(self) -> int:
        return self.real.chain_id

    def anchor(self, log_id: bytes, root: bytes, size: int) -> AnchorReceipt:
        self._up()
        return self.real.anchor(log_id, root, size)

    def receipt(self, tx_hash: str) -> AnchorReceipt | None:
        self._up()
        return self.real.receipt(tx_hash)

    def latest(self, log_id: bytes):  # noqa: ANN201
        self._up()
        return self.real.latest(log_id)

    def anchors(self, log_id: bytes):  # noqa: ANN201
        self._up()
        return self.real.anchors(log_id)


def test_the_chain_node_going_away_stops_no_append_and_anchoring_catches_up(sqlite_ledger, tmp_path: Path):  # noqa: ANN001
    from eth_account import Account
    from web3 import EthereumTesterProvider, Web3

    from ledger.anchoring.contract import deploy

    w3 = Web3(EthereumTesterProvider())
    owner = Account.create()
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": owner.address, "value": 10**18}))
    node = SwitchableNode(AnchorClient(w3, owner, deploy(w3, owner)))
    world = World(sqlite_ledger)
    worker = AnchorWorker(sqlite_ledger, node, log_id_for(sqlite_ledger.origin), Schedule(every_entries=1, every_seconds=60))
    assert worker.step().action == "anchored"
    anchored = sqlite_ledger.size()

    node.down = True
    for _round in range(3):  # appends go on while every anchoring attempt fails
        for _ in range(5):
            world.firearm()
        with pytest.raises(AnchorUnavailable):
            worker.step()
    assert sqlite_ledger.size() == anchored + 15
    assert anchor_status(sqlite_ledger).last_anchored.size == anchored

    node.down = False
    for _ in range(3):
        if worker.step().action == "idle":
            break
    status = anchor_status(sqlite_ledger)
    assert status.last_anchored.size == sqlite_ledger.size() == anchored + 15
    assert node.real.latest(log_id_for(sqlite_ledger.origin)).root == sqlite_ledger.root()
