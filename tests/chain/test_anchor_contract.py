"""LedgerAnchor and ledger.anchor on web3's in-process EthereumTesterProvider (no node process)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import EthereumTesterProvider, Web3

from ledger.anchoring.contract import (
    DEFAULT_ARTIFACT,
    AnchorClient,
    AnchorConfig,
    AnchorConfigError,
    AnchorError,
    AnchorUnavailable,
    ArtifactError,
    NotLedgerAnchor,
    NotLogSubmitterError,
    NotOwnerError,
    NotSubmitterError,
    SizeDecreasedError,
    deploy,
    load_account,
    load_artifact,
    log_id_for,
    open_web3,
)
from ledger.errors import LedgerError

LOG_A = log_id_for("police.example/tracemark/log")
LOG_B = log_id_for("cites.example/tracemark/log")
PACKAGE_JSON = Path(__file__).resolve().parents[2] / "contracts" / "package.json"


def root(n: int) -> bytes:
    return bytes([n]) * 32


@pytest.fixture
def w3() -> Web3:
    return Web3(EthereumTesterProvider())


@pytest.fixture
def fund(w3: Web3):
    """Make a fresh local (keystore-style) account holding 1 ether."""

    def make() -> LocalAccount:
        account = Account.create()
        tx = w3.eth.send_transaction(
            {"from": w3.eth.accounts[0], "to": account.address, "value": 10**18})
        w3.eth.wait_for_transaction_receipt(tx)
        return account

    return make


@pytest.fixture
def owner(fund) -> LocalAccount:
    return fund()


@pytest.fixture
def client(w3: Web3, owner: LocalAccount) -> AnchorClient:
    return AnchorClient(w3, owner, deploy(w3, owner))


# --- artifact ---------------------------------------------------------------------------


def test_artifact_loads_with_the_pinned_compiler_and_settings():
    artifact = load_artifact()
    assert artifact.path == DEFAULT_ARTIFACT
    pinned = json.loads(PACKAGE_JSON.read_text())["dependencies"]["solc"]
    assert artifact.compiler_version.startswith(pinned + "+commit.")
    assert artifact.settings == {
        "evmVersion": "paris",
        "metadata": {"bytecodeHash": "none"},
        "optimizer": {"enabled": True, "runs": 200},
    }
    names = {(e["type"], e.get("name")) for e in artifact.abi}
    for function in ("anchor", "count", "get", "latest", "addSubmitter", "removeSubmitter"):
        assert ("function", function) in names
    for error in ("NotSubmitter", "NotOwner", "SizeDecreased"):
        assert ("error", error) in names
    (anchored,) = [e for e in artifact.abi if e.get("name") == "Anchored"]
    assert [(i["name"], i["type"], i["indexed"]) for i in anchored["inputs"]] == [
        ("logId", "bytes32", True),
        ("index", "uint256", True),
        ("root", "bytes32", False),
        ("size", "uint64", False),
        ("submitter", "address", False),
    ]
    # paris: no PUSH0 (0x5f) at the start of the creation code, which starts 0x6080604052
    assert artifact.bytecode.startswith(bytes.fromhex("6080604052"))


def test_artifact_from_an_explicit_path(tmp_path: Path):
    copy = tmp_path / "anchor.json"
    copy.write_bytes(DEFAULT_ARTIFACT.read_bytes())
    assert load_artifact(copy).deployed_bytecode == load_artifact().deployed_bytecode


def test_artifact_missing_or_malformed_is_an_artifact_error(tmp_path: Path):
    with pytest.raises(ArtifactError, match="not found"):
        load_artifact(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"abi": [], "contractName": "LedgerAnchor"}))
    with pytest.raises(ArtifactError, match="malformed"):
        load_artifact(broken)


# --- deploy and code check --------------------------------------------------------------


def test_deploy_makes_the_deployer_owner_and_submitter(client: AnchorClient, owner):
    client.verify_code()
    assert client.owner() == owner.address
    assert client.is_submitter(owner.address)


def test_an_address_without_ledger_anchor_code_is_refused(w3: Web3, owner, fund):
    stranger = fund()
    with pytest.raises(NotLedgerAnchor, match="no contract"):
        AnchorClient(w3, owner, stranger.address).verify_code()


def test_transactions_are_eip1559_with_the_nodes_chain_id(w3: Web3, client: AnchorClient):
    receipt = client.anchor(LOG_A, root(1), 1)
    tx = w3.eth.get_transaction(receipt.tx_hash)
    assert tx["type"] == 2
    assert tx["chainId"] == w3.eth.chain_id
    assert tx["maxFeePerGas"] >= tx["maxPriorityFeePerGas"]


# --- anchor and read back ---------------------------------------------------------------


def test_anchor_and_read_back(w3: Web3, client: AnchorClient, owner):
    assert client.count(LOG_A) == 0
    assert client.latest(LOG_A) is None
    assert client.anchors(LOG_A) == []

    first = client.anchor(LOG_A, root(1), 5)
    second = client.anchor(LOG_A, root(2), 9)

    assert (first.index, second.index) == (0, 1)
    assert second.block_number > first.block_number
    assert second.block_time == client.get(LOG_A, 1).timestamp
    assert client.count(LOG_A) == 2
    assert client.receipt(second.tx_hash) == second
    assert client.receipt("0x" + "00" * 32) is None

    latest = client.latest(LOG_A)
    assert (latest.index, latest.root, latest.size) == (1, root(2), 9)

    anchors = client.anchors(LOG_A)
    assert [(a.index, a.root, a.size) for a in anchors] == [(0, root(1), 5), (1, root(2), 9)]
    assert [a.tx_hash for a in anchors] == [first.tx_hash, second.tx_hash]
    assert [a.block_number for a in anchors] == [first.block_number, second.block_number]
    assert {a.submitter for a in anchors} == {owner.address}
    assert [a.timestamp for a in anchors] == [first.block_time, second.block_time]
    for event_anchor in anchors:
        stored = client.get(LOG_A, event_anchor.index)
        assert (stored.root, stored.size, stored.timestamp) == (
            event_anchor.root, event_anchor.size, event_anchor.timestamp)


def test_an_equal_size_is_accepted(client: AnchorClient):
    client.anchor(LOG_A, root(1), 5)
    client.anchor(LOG_A, root(1), 5)
    assert client.count(LOG_A) == 2


def test_decreasing_size_refused(client: AnchorClient):
    client.anchor(LOG_A, root(1), 8)
    with pytest.raises(SizeDecreasedError) as caught:
        client.anchor(LOG_A, root(2), 7)
    assert (caught.value.previous, caught.value.given) == (8, 7)
    assert isinstance(caught.value, AnchorError) and isinstance(caught.value, LedgerError)
    assert client.count(LOG_A) == 1


def test_two_logs_are_independent(client: AnchorClient):
    client.anchor(LOG_A, root(1), 100)
    client.anchor(LOG_B, root(2), 3)  # smaller than log A's size: another log, no conflict
    client.anchor(LOG_B, root(3), 4)
    assert (client.count(LOG_A), client.count(LOG_B)) == (1, 2)
    assert [a.size for a in client.anchors(LOG_A)] == [100]
    assert [a.size for a in client.anchors(LOG_B)] == [3, 4]
    assert {a.log_id for a in client.anchors(LOG_B)} == {LOG_B}
    with pytest.raises(SizeDecreasedError):
        client.anchor(LOG_B, root(4), 2)


# --- submitters -------------------------------------------------------------------------


def test_unauthorised_submitter_refused(w3: Web3, client: AnchorClient, fund):
    outsider = fund()
    as_outsider = AnchorClient(w3, outsider, client.address)
    with pytest.raises(NotSubmitterError) as caught:
        as_outsider.anchor(LOG_A, root(1), 1)
    assert caught.value.caller == outsider.address
    assert client.count(LOG_A) == 0

    client.add_submitter(outsider.address)
    assert as_outsider.anchor(LOG_A, root(1), 1).index == 0
    assert client.anchors(LOG_A)[0].submitter == outsider.address

    client.remove_submitter(outsider.address)
    with pytest.raises(NotSubmitterError):
        as_outsider.anchor(LOG_B, root(2), 2)  # no longer opens a log; LOG_A stays its own until taken away
    client.remove_log_submitter(LOG_A, outsider.address)
    with pytest.raises(NotLogSubmitterError):
        as_outsider.anchor(LOG_A, root(2), 2)


def test_only_the_owner_manages_submitters(w3: Web3, client: AnchorClient, fund):
    submitter = fund()
    client.add_submitter(submitter.address)
    as_submitter = AnchorClient(w3, submitter, client.address)
    with pytest.raises(NotOwnerError) as caught:
        as_submitter.add_submitter(submitter.address)
    assert caught.value.caller == submitter.address


# --- each log its own submitters --------------------------------------------------------


@pytest.fixture
def two_logs(w3: Web3, client: AnchorClient, fund) -> tuple[AnchorClient, AnchorClient]:
    """Log A's and log B's submitters, both authorised by the owner to open a log, each having opened its own."""
    clients = []
    for log_id in (LOG_A, LOG_B):
        account = fund()
        client.add_submitter(account.address)
        own = AnchorClient(w3, account, client.address)
        own.anchor(log_id, root(1), 10)
        clients.append(own)
    return clients[0], clients[1]


def test_the_first_anchor_binds_a_log_to_its_submitter(client: AnchorClient, two_logs):
    a, b = two_logs
    assert client.is_bound(LOG_A) and client.is_bound(LOG_B)
    assert client.is_log_submitter(LOG_A, a.account) and not client.is_log_submitter(LOG_A, b.account)
    assert [(c.submitter, c.added) for c in client.submitter_changes(LOG_A)] == [(a.account, True)]
    assert not client.is_bound(log_id_for("unanchored.example/log"))


def test_another_logs_submitter_cannot_anchor_a_bound_log(client: AnchorClient, two_logs):
    a, b = two_logs
    with pytest.raises(NotLogSubmitterError) as caught:
        b.anchor(LOG_A, root(9), 11)
    assert (caught.value.log_id, caught.value.caller) == (LOG_A, b.account)
    assert isinstance(caught.value, AnchorError)
    with pytest.raises(NotLogSubmitterError):
        client.anchor(LOG_A, root(9), 11)  # the owner too anchors only logs it is a submitter of
    assert [x.submitter for x in client.anchors(LOG_A)] == [a.account]


def test_a_maximal_size_from_another_log_cannot_block_the_real_log(client: AnchorClient, two_logs):
    a, b = two_logs
    with pytest.raises(NotLogSubmitterError):
        b.anchor(LOG_A, root(9), 2**64 - 1)
    assert a.anchor(LOG_A, root(2), 11).index == 1
    assert [x.size for x in client.anchors(LOG_A)] == [10, 11]


def test_the_owner_or_a_log_submitter_manages_the_logs_submitters(w3: Web3, client: AnchorClient, two_logs, fund):
    a, b = two_logs
    spare, later = fund(), fund()
    a.add_log_submitter(LOG_A, spare.address)  # the log's own submitter adds a second account
    client.add_log_submitter(LOG_A, later.address)  # and so may the owner
    as_spare = AnchorClient(w3, spare, client.address)
    assert as_spare.anchor(LOG_A, root(2), 12).index == 1
    with pytest.raises(NotLogSubmitterError) as caught:
        b.add_log_submitter(LOG_A, b.account)  # another log's submitter cannot let itself in
    assert caught.value.caller == b.account
    with pytest.raises(NotLogSubmitterError):
        b.remove_log_submitter(LOG_A, a.account)
    as_spare.remove_log_submitter(LOG_A, a.account)
    with pytest.raises(NotLogSubmitterError):
        a.anchor(LOG_A, root(3), 13)
    assert [(c.submitter, c.added) for c in client.submitter_changes(LOG_A)] == [
        (a.account, True), (spare.address, True), (later.address, True), (a.account, False)]


def test_the_owner_binds_a_log_before_its_first_anchor(w3: Web3, client: AnchorClient, fund):
    """A log bound ahead by the owner cannot be opened first by another log's submitter."""
    mine, squatter = fund(), fund()
    client.add_submitter(squatter.address)
    client.add_log_submitter(LOG_A, mine.address)
    with pytest.raises(NotLogSubmitterError):
        AnchorClient(w3, squatter, client.address).anchor(LOG_A, root(1), 2**64 - 1)
    assert AnchorClient(w3, mine, client.address).anchor(LOG_A, root(1), 1).index == 0


# --- gas --------------------------------------------------------------------------------


def test_gas_per_anchor(client: AnchorClient, capsys):
    first = client.anchor(LOG_A, root(1), 1)
    later = [client.anchor(LOG_A, root(i), i).gas_used for i in range(2, 6)]
    other_log = client.anchor(LOG_B, root(1), 1)
    with capsys.disabled():
        print(f"\ngas per anchor: first of a log {first.gas_used}, "
              f"later {sorted(set(later))}, first of a second log {other_log.gas_used}")
    assert len(set(later)) == 1  # steady state: same cost for every later checkpoint
    assert later[0] < 85_000  # one storage look-up more than a contract without per-log submitters
    assert later[0] < first.gas_used < 150_000  # binding the log: two more storage writes, once
    assert other_log.gas_used == first.gas_used


# --- inputs, configuration, node errors -------------------------------------------------


def test_log_id_is_keccak_of_the_origin():
    assert log_id_for("police.example/tracemark/log") == keccak(b"police.example/tracemark/log")
    assert LOG_A != LOG_B
    for bad in ("", "two\nlines"):
        with pytest.raises(AnchorError, match="one non-empty line"):
            log_id_for(bad)


def test_inputs_are_checked_before_any_transaction(client: AnchorClient):
    with pytest.raises(AnchorError, match="root must be 32 bytes, got 31"):
        client.anchor(LOG_A, b"\x01" * 31, 1)
    with pytest.raises(AnchorError, match="log_id must be bytes, got str"):
        client.anchor("0x" + "00" * 32, root(1), 1)  # type: ignore[arg-type]
    for size in (-1, 2**64):
        with pytest.raises(AnchorError, match="size must be in"):
            client.anchor(LOG_A, root(1), size)
    assert client.count(LOG_A) == 0


def test_config_from_env():
    assert AnchorConfig.from_env({}) is None
    assert AnchorConfig.from_env({"TRACEMARK_RPC_URL": "  "}) is None
    config = AnchorConfig.from_env({
        "TRACEMARK_RPC_URL": "http://127.0.0.1:8545",
        "TRACEMARK_ANCHOR_ADDRESS": "0x" + "11" * 20,
        "TRACEMARK_ANCHOR_KEYSTORE": "/keys/anchor.json",
        "TRACEMARK_ANCHOR_PASSPHRASE": "correct horse",
    })
    assert config == AnchorConfig(
        "http://127.0.0.1:8545", "0x" + "11" * 20, Path("/keys/anchor.json"), "correct horse")
    assert "correct horse" not in repr(config)


def test_connect_refuses_an_incomplete_config():
    with pytest.raises(AnchorConfigError, match="TRACEMARK_ANCHOR_ADDRESS"):
        AnchorClient.connect(AnchorConfig("http://127.0.0.1:8545"))
    with pytest.raises(AnchorConfigError, match="TRACEMARK_ANCHOR_KEYSTORE"):
        AnchorClient.connect(AnchorConfig("http://127.0.0.1:8545", "0x" + "11" * 20))
    with pytest.raises(AnchorConfigError, match="http"):
        open_web3("ws://127.0.0.1:8545")


def test_keystore_round_trip_and_wrong_passphrase(tmp_path: Path):
    account = Account.create()
    keystore = tmp_path / "anchor.json"
    keystore.write_text(json.dumps(Account.encrypt(account.key, "s3cret", iterations=2)))
    assert load_account(keystore, "s3cret").address == account.address
    with pytest.raises(AnchorConfigError, match="cannot be decrypted"):
        load_account(keystore, "wrong")
    with pytest.raises(AnchorConfigError, match="cannot be read"):
        load_account(tmp_path / "absent.json", "s3cret")


def test_node_unreachable_is_anchor_unavailable(owner):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = AnchorClient(open_web3(f"http://127.0.0.1:{port}", timeout=2), owner,
                          "0x" + "11" * 20)
    with pytest.raises(AnchorUnavailable, match="unavailable"):
        client.count(LOG_A)
    with pytest.raises(AnchorUnavailable):
        client.anchor(LOG_A, root(1), 1)
