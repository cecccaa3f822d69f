"""The anchoring worker and the chain audit on web3's in-process EthereumTesterProvider."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import EthereumTesterProvider, Web3

from ledger.anchoring.contract import AnchorClient, AnchorPending, AnchorReceipt, AnchorUnavailable, NotSubmitterError, TransactionFailed, deploy, log_id_for
from ledger.anchoring.worker import AnchorWorker, Backoff, Schedule, anchor_status
from ledger.audit.chain import foreign_anchors, verify_chain
from ledger.audit.recompute import audit
from ledger.store.ledger import Ledger
from tests.chain.rewrite import rewrite_entry
from tests.support import World


@pytest.fixture
def w3() -> Web3:
    return Web3(EthereumTesterProvider())


def funded(w3: Web3) -> LocalAccount:
    account = Account.create()
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": account.address, "value": 10**18}))
    return account


@pytest.fixture
def client(w3: Web3) -> AnchorClient:
    owner = funded(w3)
    return AnchorClient(w3, owner, deploy(w3, owner))


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def worker_for(ledger: Ledger, client: object, clock: Clock | None = None, **schedule: float) -> AnchorWorker:
    return AnchorWorker(ledger, client, log_id_for(ledger.origin), Schedule(**{"every_entries": 5, "every_seconds": 60, **schedule}),
                        Backoff(first=1, factor=2, cap=8), clock=clock or Clock())


def grow(world: World, n: int) -> None:
    for _ in range(n):
        world.firearm()


def test_worker_anchors_every_n_entries_or_t_seconds_and_stores_where(sqlite_ledger: Ledger, client: AnchorClient, w3: Web3):
    world = World(sqlite_ledger)
    clock = Clock()
    worker = worker_for(sqlite_ledger, client, clock)
    log_id = log_id_for(sqlite_ledger.origin)

    first = worker.step()  # never anchored: due as soon as the log has entries
    assert first.action == "anchored"
    row = first.checkpoint
    assert row is not None and row.size == sqlite_ledger.size()
    stored = sqlite_ledger.latest_checkpoint()
    assert (stored.anchor_tx, stored.anchor_block, stored.anchor_index) == (first.receipt.tx_hash, first.receipt.block_number, 0)
    assert stored.anchor_chain_id == w3.eth.chain_id
    assert stored.anchor_time == first.receipt.block_time.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert w3.eth.get_transaction(stored.anchor_tx)["to"] == client.address
    assert client.latest(log_id).root == stored.root

    grow(world, 3)  # fewer than N entries, less than T seconds
    assert worker.step().action == "idle"
    clock.now += 61  # T seconds passed
    assert worker.step().action == "anchored"
    grow(world, 5)  # N entries, no time passed
    third = worker.step()
    assert third.action == "anchored" and third.receipt.index == 2
    assert client.count(log_id) == 3
    assert [a.size for a in client.anchors(log_id)] == [row.size, row.size + 3, sqlite_ledger.size()]


def test_an_anchored_checkpoint_is_never_sent_again(sqlite_ledger: Ledger, client: AnchorClient):
    World(sqlite_ledger)
    clock = Clock()
    assert worker_for(sqlite_ledger, client, clock).step().action == "anchored"
    clock.now += 10_000
    assert worker_for(sqlite_ledger, client, clock).step().action == "idle"  # a restarted worker too
    assert worker_for(sqlite_ledger, client, clock).step().action == "idle"
    assert client.count(log_id_for(sqlite_ledger.origin)) == 1


def test_an_anchor_mined_but_not_recorded_is_adopted_not_resent(sqlite_ledger: Ledger, client: AnchorClient):
    World(sqlite_ledger)
    row = sqlite_ledger.checkpoint()
    mined = client.anchor(log_id_for(sqlite_ledger.origin), row.root, row.size)  # then the worker "died"
    outcome = worker_for(sqlite_ledger, client).step()
    assert outcome.action == "adopted"
    assert sqlite_ledger.latest_checkpoint().anchor_tx == mined.tx_hash
    assert sqlite_ledger.latest_checkpoint().anchor_block == mined.block_number
    assert client.count(log_id_for(sqlite_ledger.origin)) == 1


@dataclass
class PassThrough:
    """The real client; the fakes below change one behaviour each."""

    real: AnchorClient

    @property
    def chain_id(self) -> int:
        return self.real.chain_id

    def anchor(self, log_id: bytes, root: bytes, size: int) -> AnchorReceipt:
        return self.real.anchor(log_id, root, size)

    def receipt(self, tx_hash: str) -> AnchorReceipt | None:
        return self.real.receipt(tx_hash)

    def latest(self, log_id: bytes):  # noqa: ANN201
        return self.real.latest(log_id)

    def anchors(self, log_id: bytes):  # noqa: ANN201
        return self.real.anchors(log_id)


@dataclass
class SlowNode(PassThrough):
    """The real client, but the first anchor's receipt arrives only after the worker gave up waiting."""

    hidden: set[str] = field(default_factory=set)

    def anchor(self, log_id: bytes, root: bytes, size: int) -> AnchorReceipt:
        receipt = self.real.anchor(log_id, root, size)
        self.hidden.add(receipt.tx_hash)
        raise AnchorPending(receipt.tx_hash, 120)

    def receipt(self, tx_hash: str) -> AnchorReceipt | None:
        if tx_hash in self.hidden:
            self.hidden.discard(tx_hash)
            return None  # not mined yet
        return self.real.receipt(tx_hash)

    def latest(self, log_id: bytes):  # noqa: ANN201
        return None  # the node is lagging: it has not seen the anchor yet either

    def anchors(self, log_id: bytes):  # noqa: ANN201
        return []


def test_a_transaction_in_flight_is_picked_up_by_its_receipt(sqlite_ledger: Ledger, client: AnchorClient):
    World(sqlite_ledger)
    worker = worker_for(sqlite_ledger, SlowNode(client))
    assert worker.step().action == "pending"
    in_flight = anchor_status(sqlite_ledger).pending
    assert in_flight is not None and in_flight.anchor_tx and in_flight.anchor_block is None
    assert worker.step().action == "pending"  # still no receipt: wait, do not resend
    done = worker.step()
    assert done.action == "anchored" and done.receipt.tx_hash == in_flight.anchor_tx
    assert anchor_status(sqlite_ledger).pending is None
    assert client.count(log_id_for(sqlite_ledger.origin)) == 1


@dataclass
class FlakyNode(PassThrough):
    """Down for the first `failures` calls to anchor (node unreachable, then a failed transaction)."""

    failures: int
    calls: int = 0

    def anchor(self, log_id: bytes, root: bytes, size: int) -> AnchorReceipt:
        self.calls += 1
        if self.calls <= self.failures:
            if self.calls % 2:
                raise AnchorUnavailable("Ethereum node unavailable: connection refused")
            raise TransactionFailed("transaction reverted", "0x" + "ab" * 32)
        return self.real.anchor(log_id, root, size)



def test_a_failing_node_is_retried_with_exponential_backoff(sqlite_ledger: Ledger, client: AnchorClient):
    World(sqlite_ledger)
    node = FlakyNode(client, failures=5)
    worker = worker_for(sqlite_ledger, node)
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return len(waits) == 7

    worker.run(wait)
    assert waits == [1, 2, 4, 8, 8, 5, 5]  # doubling, capped at 8; then the idle poll once it worked
    assert node.calls == 6
    assert sqlite_ledger.latest_checkpoint().anchor_index == 0
    assert client.count(log_id_for(sqlite_ledger.origin)) == 1


def test_backoff_doubles_up_to_its_cap():
    backoff = Backoff(first=0.5, factor=2, cap=30)
    assert [backoff.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    with pytest.raises(ValueError, match="counts from 1"):
        backoff.delay(0)


def test_a_contract_refusal_stops_the_worker(sqlite_ledger: Ledger, client: AnchorClient, w3: Web3):
    World(sqlite_ledger)
    stranger = AnchorClient(w3, funded(w3), client.address)
    with pytest.raises(NotSubmitterError) as caught:
        worker_for(sqlite_ledger, stranger).run(lambda _: pytest.fail("a refusal must not be retried"))
    assert caught.value.caller == stranger.account
    assert sqlite_ledger.latest_checkpoint().anchor_tx is None


@dataclass
class StuckNode(PassThrough):
    """An anchor call that hangs until released: the node is slow, appends must go on."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def anchor(self, log_id: bytes, root: bytes, size: int) -> AnchorReceipt:
        self.entered.set()
        assert self.release.wait(30)
        return self.real.anchor(log_id, root, size)



def test_a_stuck_node_never_blocks_appends(ledger: Ledger, client: AnchorClient):
    world = World(ledger)
    node = StuckNode(client)
    worker = worker_for(ledger, node)
    thread = threading.Thread(target=worker.step)
    thread.start()
    try:
        assert node.entered.wait(30)
        size = ledger.size()
        started = time.monotonic()
        grow(world, 3)
        assert time.monotonic() - started < 5
        assert ledger.size() == size + 3
    finally:
        node.release.set()
        thread.join(30)
    row = anchor_status(ledger).last_anchored
    assert row is not None and row.size == size and row.anchor_index == 0


# --- verify --chain ------------------------------------------------------------------------


def test_verify_chain_passes_an_honest_log_and_catches_a_consistent_rewrite(sqlite_ledger: Ledger, client: AnchorClient):
    world = World(sqlite_ledger)
    clock = Clock()
    worker = worker_for(sqlite_ledger, client, clock)
    first_anchor = worker.step()
    assert first_anchor.action == "anchored"
    exposed_at = sqlite_ledger.size()
    grow(world, 5)
    assert worker.step().action == "anchored"
    grow(world, 5)
    assert worker.step().action == "anchored"
    log_id = log_id_for(sqlite_ledger.origin)
    vkey = sqlite_ledger.log_key.verifier_key

    def check():  # noqa: ANN202
        with sqlite_ledger.reading() as session:
            return verify_chain(sqlite_ledger, session, vkey, client.anchors(log_id))

    honest = check()
    assert honest.ok, [str(f) for f in honest.findings]
    assert [a.index for a in honest.anchors] == [0, 1, 2]

    victim = exposed_at - 2  # an entry before the first anchored size
    actor = sqlite_ledger.entries(victim, victim + 1)[0].actor
    rewrite_entry(sqlite_ledger.db.url, sqlite_ledger.origin, sqlite_ledger.log_key, victim, world.parties[actor].account)

    with sqlite_ledger.reading() as session:
        plain = audit(session, vkey, sqlite_ledger.origin)
    assert plain.ok, [str(f) for f in plain.findings]  # the operator covered every stored trace

    caught = check()
    assert not caught.ok
    assert caught.log.ok
    first = caught.first
    assert first is not None and first.anchor.index == 0
    assert (first.anchor.tx_hash, first.anchor.block_number) == (first_anchor.receipt.tx_hash, first_anchor.receipt.block_number)
    assert {f.anchor.index for f in caught.findings} == {0, 1, 2}
    assert f"anchor #0 (size {exposed_at}, tx {first.anchor.tx_hash}, block {first.anchor.block_number}, submitted by {first.anchor.submitter})" in str(first)
    assert "was rewritten" in first.what


def test_verify_chain_reports_a_truncated_log_and_a_fork(sqlite_ledger: Ledger, client: AnchorClient):
    world = World(sqlite_ledger)
    log_id = log_id_for(sqlite_ledger.origin)
    size = sqlite_ledger.size()
    honest = sqlite_ledger.root(size)
    client.anchor(log_id, honest, size)
    client.anchor(log_id, bytes(32), size)  # a second root for the same size: a fork on chain
    client.anchor(log_id, honest, size + 100)  # more entries than the log has
    grow(world, 1)
    with sqlite_ledger.reading() as session:
        result = verify_chain(sqlite_ledger, session, sqlite_ledger.log_key.verifier_key, client.anchors(log_id))
    messages = {f.anchor.index: f.what for f in result.findings if "second root" not in f.what}
    assert "was rewritten" in messages[1]
    assert f"the chain anchored {size + 100} entries but the log has only {size + 1}" == messages[2]
    assert any(f.anchor.index == 1 and "second root for size" in f.what for f in result.findings)


def test_verify_chain_sets_aside_and_names_an_anchor_by_another_account(sqlite_ledger: Ledger, client: AnchorClient, w3: Web3):
    """Only the log's submitters speak for it: an anchor under its id by any other account is named, not held against it."""
    World(sqlite_ledger)
    log_id = log_id_for(sqlite_ledger.origin)
    assert worker_for(sqlite_ledger, client).step().action == "anchored"
    [own] = client.anchors(log_id)
    mallory = funded(w3).address
    foreign = replace(own, index=1, root=bytes(32), size=2**64 - 1, submitter=mallory,
                      tx_hash="0x" + "ab" * 32, block_number=own.block_number + 1, log_index=0)
    changes = client.submitter_changes(log_id)
    assert foreign_anchors([own, foreign], changes) == [foreign]

    with sqlite_ledger.reading() as session:
        result = verify_chain(sqlite_ledger, session, sqlite_ledger.log_key.verifier_key, [own, foreign], changes=changes)
    assert result.ok, [str(f) for f in result.findings]
    assert result.anchors == [own] and result.foreign == [foreign]


def test_an_operator_cannot_disown_its_earlier_anchors_by_changing_submitters(sqlite_ledger: Ledger, client: AnchorClient, w3: Web3):
    World(sqlite_ledger)
    log_id = log_id_for(sqlite_ledger.origin)
    assert worker_for(sqlite_ledger, client).step().action == "anchored"
    successor = funded(w3).address
    client.add_log_submitter(log_id, successor)
    client.remove_log_submitter(log_id, client.account)
    anchors = client.anchors(log_id)
    assert foreign_anchors(anchors, client.submitter_changes(log_id)) == []


def test_forgetting_anchors_clears_every_record_and_makes_the_log_due_again(ledger: Ledger, client: AnchorClient):
    World(ledger)
    assert worker_for(ledger, client).step().action == "anchored"
    assert ledger.forget_anchors() == 1
    status = anchor_status(ledger)
    assert status.last_anchored is None and status.pending is None
    assert ledger.forget_anchors() == 0
