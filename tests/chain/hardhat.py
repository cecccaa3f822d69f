"""A real JSON-RPC dev node process (Hardhat, from contracts/) on a free 127.0.0.1 port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import free_port

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
HARDHAT = CONTRACTS / "node_modules" / "hardhat" / "internal" / "cli" / "bootstrap.js"
# Hardhat's first well-known dev account (funded on every `hardhat node`; never use elsewhere).
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def rpc(url: str, method: str) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=2) as response:
        return json.load(response)["result"]


@contextmanager
def hardhat_process(log_path: Path) -> Iterator[str]:
    """The URL of a fresh `hardhat node` process, its output in `log_path`; stopped by its pid afterwards."""
    if not HARDHAT.exists():
        message = f"Hardhat is not installed ({HARDHAT}): run `npm ci` in contracts/ (make contracts-check does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log_path.open("w")
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
                    pytest.fail(f"hardhat node did not start: {log_path.read_text()[-2000:]}")
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
