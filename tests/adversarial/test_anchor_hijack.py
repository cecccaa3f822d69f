"""Anchors written by another log: a second log's submitter attacks the demo log's anchors.

Two authorities share one LedgerAnchor on a real JSON-RPC dev node (Hardhat). The demo log's
operator deploys it and anchors with `tracemark anchor run`; the owner lets a second log's
account (mallory) open a log of its own. Mallory then tries to anchor the demo log's id, first
with a forged root, then with size 2^64-1 so that the real log's next anchor would revert, and
to make itself one of the demo log's submitters. Every attempt reverts; the demo log keeps
anchoring, and `tracemark verify --chain`, run as the installed console script, holds its log
against its own submitters' anchors only.
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
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.anchoring.contract import AnchorClient, NotLogSubmitterError, log_id_for, open_web3
from ledger.config import open_ledger
from ledger.log.codec import utc_now
from tests.adversarial.conftest import DemoLog
from tests.chain.hardhat import DEV_KEY, hardhat_process

pytestmark = pytest.mark.chain

TRACEMARK = Path(sys.executable).parent / "tracemark"
PASSPHRASE = "anchor-pass"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with hardhat_process(tmp_path_factory.mktemp("hardhat") / "hardhat.log") as url:
        yield url


def tracemark(env: dict[str, str], *args: str, code: int = 0) -> str:
    done = subprocess.run([str(TRACEMARK), *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == code, f"tracemark {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout + done.stderr


def funded(w3: Web3) -> LocalAccount:
    account = Account.create()
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": account.address, "value": 10**18}))
    return account


def grow(demo_log: DemoLog) -> None:
    """One more entry in the demo log: the registry registers a party."""
    ledger = open_ledger(demo_log.settings)
    ledger.append(demo_log.parties["registry"].envelope(
        "register_party", utc_now() - timedelta(seconds=1),
        party={"id": "nl-douane", "name": "Douane Nederland", "role": "customs", "country": "NL",
               "addresses": [Account.create().address]}))
    ledger.db.dispose()


def test_another_logs_submitter_can_neither_write_nor_block_a_logs_anchors(chain: str, demo_log: DemoLog, tmp_path: Path):
    keystore = tmp_path / "anchor-key.json"
    keystore.write_text(json.dumps(Account.encrypt(DEV_KEY, PASSPHRASE, iterations=2**10)))
    settings = demo_log.settings
    env = {**os.environ, "TRACEMARK_DB": settings.db_url, "TRACEMARK_HOME": str(settings.home),
           "TRACEMARK_ORIGIN": settings.origin, "TRACEMARK_RPC_URL": chain, "COLUMNS": "400",
           "TRACEMARK_ANCHOR_KEYSTORE": str(keystore), "TRACEMARK_ANCHOR_PASSPHRASE": PASSPHRASE}
    deployed = tracemark(env, "anchor", "deploy")
    env["TRACEMARK_ANCHOR_ADDRESS"] = address = re.search(r"TRACEMARK_ANCHOR_ADDRESS=(0x[0-9a-fA-F]{40})", deployed).group(1)
    assert tracemark(env, "anchor", "run", "--once").startswith("anchored checkpoint #")

    w3 = open_web3(chain)
    owner = AnchorClient(w3, Account.from_key(DEV_KEY), address)
    mallory = AnchorClient(w3, funded(w3), address)
    owner.add_submitter(mallory.account)  # trusted to open a log of its own
    mallory.anchor(log_id_for("mallory.example/log"), bytes(32), 1)

    victim = log_id_for(settings.origin)
    for attack in (lambda: mallory.anchor(victim, bytes(32), 1),
                   lambda: mallory.anchor(victim, bytes(32), 2**64 - 1),
                   lambda: mallory.add_log_submitter(victim, mallory.account)):
        with pytest.raises(NotLogSubmitterError) as refused:
            attack()
        assert (refused.value.log_id, refused.value.caller) == (victim, mallory.account)

    grow(demo_log)
    assert tracemark(env, "anchor", "run", "--once", "--every-entries", "1").startswith("anchored checkpoint #")
    assert {a.submitter for a in owner.anchors(victim)} == {owner.account}
    verified = tracemark(env, "verify", "--chain")
    assert "OK" in verified and f"2 anchors by this log's submitters on {address}" in verified
    assert "IGNORED" not in verified
