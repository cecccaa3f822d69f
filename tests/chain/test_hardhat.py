"""The whole anchoring story against a real JSON-RPC dev node process (Hardhat, from contracts/).

The test starts `hardhat node` on a free 127.0.0.1 port and stops it by its process id. Through
the `tracemark` command line it fills a demo log, deploys the committed artifact, anchors two
checkpoints with the worker, then rewrites an early entry the way a dishonest operator would
(every hash, node and checkpoint recomputed and re-signed) and shows that `tracemark verify`
is fooled while `tracemark verify --chain` is not. It prints the gas each anchor cost.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from eth_account import Account

from ledger.anchoring.contract import open_web3
from ledger.config import Settings, open_ledger
from ledger.demo import DEMO_PASSPHRASE
from ledger.log.codec import format_time, utc_now
from ledger.log.keys import load_keystore
from ledger.log.signatures import sign_event
from tests.chain.hardhat import DEV_KEY, hardhat_process
from tests.chain.rewrite import rewrite_entry

pytestmark = pytest.mark.chain

EVENTS_PER_CHECKPOINT = 10_000


@pytest.fixture
def hardhat_node(tmp_path: Path) -> Iterator[str]:
    with hardhat_process(tmp_path / "hardhat.log") as url:
        yield url


def tracemark(env: dict[str, str], *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "tracemark", *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == code, f"tracemark {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def anchor_env(tmp_path: Path, node: str, keystore: Path) -> dict[str, str]:
    """The environment of a fresh log in `tmp_path` anchoring on `node` from the dev account, whose keystore is written to `keystore`."""
    keystore.write_text(json.dumps(Account.encrypt(DEV_KEY, "anchor-pass", iterations=2**10)))
    return {**os.environ, "TRACEMARK_DB": f"sqlite:///{tmp_path / 'tracemark.db'}", "TRACEMARK_HOME": str(tmp_path / "home"),
            "TRACEMARK_ORIGIN": "hardhat.test/log", "TRACEMARK_RPC_URL": node, "COLUMNS": "200",
            "TRACEMARK_ANCHOR_KEYSTORE": str(keystore), "TRACEMARK_ANCHOR_PASSPHRASE": "anchor-pass"}


def deploy(env: dict[str, str]) -> str:
    """Deploy LedgerAnchor with `tracemark anchor deploy`; its address."""
    deployed = tracemark(env, "anchor", "deploy").stdout
    return re.search(r"TRACEMARK_ANCHOR_ADDRESS=(0x[0-9a-fA-F]{40})", deployed).group(1)


def test_worker_anchors_a_demo_log_and_verify_chain_catches_a_rewrite(hardhat_node: str, tmp_path: Path):
    keystore = tmp_path / "anchor-key.json"
    keystore.write_text(json.dumps(Account.encrypt(DEV_KEY, "anchor-pass", iterations=2**10)))
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'tracemark.db'}", home=tmp_path / "home", origin="hardhat.test/log")
    env = {**os.environ, "TRACEMARK_DB": settings.db_url, "TRACEMARK_HOME": str(settings.home),
           "TRACEMARK_ORIGIN": settings.origin, "TRACEMARK_RPC_URL": hardhat_node,
           "TRACEMARK_ANCHOR_KEYSTORE": str(keystore), "TRACEMARK_ANCHOR_PASSPHRASE": "anchor-pass",
           "COLUMNS": "200"}

    tracemark(env, "demo", "--items", "5")
    env["TRACEMARK_ANCHOR_ADDRESS"] = deploy(env)

    first = tracemark(env, "anchor", "run", "--once").stdout
    assert first.startswith("anchored checkpoint #")
    first_tx = re.search(r"tx (0x[0-9a-f]{64})", first).group(1)
    first_gas = int(re.search(r"gas (\d+)", first).group(1))
    assert tracemark(env, "anchor", "run", "--once").stdout.startswith("idle")  # nothing new: nothing sent

    ledger = open_ledger(settings)
    anchored_size = ledger.size()
    registry = load_keystore(settings.keys_dir / "registry.json", DEMO_PASSPHRASE)
    ledger.append(sign_event(registry, {
        "type": "register_party", "actor": "registry", "time": format_time(utc_now() - timedelta(seconds=1)),
        "party": {"id": "nl-douane", "name": "Douane Nederland", "role": "customs", "country": "NL",
                  "addresses": [Account.create().address]}}, origin=ledger.origin))
    second = tracemark(env, "anchor", "run", "--once", "--every-entries", "1").stdout
    assert second.startswith("anchored checkpoint #")
    later_gas = int(re.search(r"gas (\d+)", second).group(1))

    status = tracemark(env, "anchor", "status").stdout
    assert "2 anchors, latest size" in status and "0 entries not yet anchored" in status
    assert "OK" in tracemark(env, "verify", "--chain").stdout

    victim = anchored_size // 2
    actor = ledger.entries(victim, victim + 1)[0].actor
    rewrite_entry(settings.db_url, settings.origin, ledger.log_key, victim,
                  load_keystore(settings.keys_dir / f"{actor}.json", DEMO_PASSPHRASE))
    ledger.db.dispose()

    assert "OK" in tracemark(env, "verify").stdout  # the rewrite fools the plain audit
    caught = tracemark(env, "verify", "--chain", code=1)
    assert "the chain disagrees with the log" in caught.stderr
    assert f"anchor #0 (size {anchored_size}, tx {first_tx}" in caught.stderr
    assert "was rewritten" in caught.stderr

    print(f"\ngas per checkpoint: first anchor of a log {first_gas}, later anchors {later_gas}; "
          f"per event at 1 checkpoint / {EVENTS_PER_CHECKPOINT} events: {later_gas / EVENTS_PER_CHECKPOINT:.2f}")
    assert 60_000 < later_gas < first_gas < 150_000


def test_an_operator_binds_its_log_to_its_worker_account_from_the_command_line(hardhat_node: str, tmp_path: Path):
    """The owner names a log's submitter before its first anchor; only that account anchors it then."""
    owner_keystore, worker_keystore = tmp_path / "owner.json", tmp_path / "worker.json"
    worker = Account.create()
    worker_keystore.write_text(json.dumps(Account.encrypt(worker.key, "anchor-pass", iterations=2**10)))
    w3 = open_web3(hardhat_node)
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": worker.address, "value": 10**18}))
    env = anchor_env(tmp_path, hardhat_node, owner_keystore)
    tracemark(env, "demo", "--items", "0")
    env["TRACEMARK_ANCHOR_ADDRESS"] = deploy(env)
    assert "no submitter of this log yet" in tracemark(env, "anchor", "status").stdout

    assert f"{worker.address} may anchor hardhat.test/log" in tracemark(env, "anchor", "add-submitter", worker.address).stdout
    assert f"submitters of this log: {worker.address}" in tracemark(env, "anchor", "status").stdout
    refused = tracemark(env, "anchor", "run", "--once", code=2)
    assert "LedgerAnchor reverted: NotLogSubmitter(" in refused.stderr and "Traceback" not in refused.stderr
    bad = tracemark(env, "anchor", "remove-submitter", "0x1234", code=2)
    assert "not an Ethereum address: '0x1234'" in bad.stderr

    env["TRACEMARK_ANCHOR_KEYSTORE"] = str(worker_keystore)
    assert tracemark(env, "anchor", "run", "--once").stdout.startswith("anchored checkpoint #")
    assert "OK" in tracemark(env, "verify", "--chain").stdout


def test_an_operator_moves_its_log_to_a_newly_deployed_contract(hardhat_node: str, tmp_path: Path):
    """The redeploy path: deploy, point the log at the new address, forget the old records, anchor again."""
    env = anchor_env(tmp_path, hardhat_node, tmp_path / "anchor-key.json")
    tracemark(env, "demo", "--items", "0")
    env["TRACEMARK_ANCHOR_ADDRESS"] = deploy(env)
    assert tracemark(env, "anchor", "run", "--once").stdout.startswith("anchored checkpoint #")
    env["TRACEMARK_ANCHOR_ADDRESS"] = deploy(env)

    stale = tracemark(env, "verify", "--chain", code=1)
    assert "recorded as anchor #0, which the chain does not hold" in stale.stderr
    assert "forgot the anchor records of 1 checkpoints" in tracemark(env, "anchor", "forget").stdout
    assert tracemark(env, "anchor", "run", "--once").stdout.startswith("anchored checkpoint #")
    assert "OK" in tracemark(env, "verify", "--chain").stdout
    kept = tracemark(env, "anchor", "forget", code=2)
    assert "holds 1 anchors of hardhat.test/log: its records are kept" in kept.stderr
