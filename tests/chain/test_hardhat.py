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
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from eth_account import Account

from ledger.codec import format_time, utc_now
from ledger.config import Settings, open_ledger
from ledger.demo import DEMO_PASSPHRASE
from ledger.keys import load_keystore
from ledger.signatures import sign_event
from tests.chain.rewrite import rewrite_entry
from tests.servers import free_port

pytestmark = pytest.mark.chain

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
HARDHAT = CONTRACTS / "node_modules" / "hardhat" / "internal" / "cli" / "bootstrap.js"
# Hardhat's first well-known dev account (funded on every `hardhat node`; never use elsewhere).
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
EVENTS_PER_CHECKPOINT = 10_000


def rpc(url: str, method: str) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=2) as response:
        return json.load(response)["result"]


@pytest.fixture
def hardhat_node(tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh `hardhat node` process; stopped by its pid afterwards."""
    if not HARDHAT.exists():
        message = f"Hardhat is not installed ({HARDHAT}): run `npm ci` in contracts/ (make contracts-check does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "hardhat.log").open("w")
    process = subprocess.Popen(
        ["node", str(HARDHAT), "node", "--hostname", "127.0.0.1", "--port", str(port)],
        cwd=CONTRACTS, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"},
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                assert rpc(url, "eth_chainId") == hex(31337)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"hardhat node did not start: {(tmp_path / 'hardhat.log').read_text()[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(15)
        log.close()


def tracemark(env: dict[str, str], *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "tracemark", *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == code, f"tracemark {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def test_worker_anchors_a_demo_log_and_verify_chain_catches_a_rewrite(hardhat_node: str, tmp_path: Path):
    keystore = tmp_path / "anchor-key.json"
    keystore.write_text(json.dumps(Account.encrypt(DEV_KEY, "anchor-pass", iterations=2**10)))
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'tracemark.db'}", home=tmp_path / "home", origin="hardhat.test/log")
    env = {**os.environ, "TRACEMARK_DB": settings.db_url, "TRACEMARK_HOME": str(settings.home),
           "TRACEMARK_ORIGIN": settings.origin, "TRACEMARK_RPC_URL": hardhat_node,
           "TRACEMARK_ANCHOR_KEYSTORE": str(keystore), "TRACEMARK_ANCHOR_PASSPHRASE": "anchor-pass",
           "COLUMNS": "200"}

    tracemark(env, "demo", "--items", "5")
    deployed = tracemark(env, "anchor", "deploy").stdout
    env["TRACEMARK_ANCHOR_ADDRESS"] = re.search(r"TRACEMARK_ANCHOR_ADDRESS=(0x[0-9a-fA-F]{40})", deployed).group(1)

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
    assert 60_000 < later_gas < first_gas < 120_000
