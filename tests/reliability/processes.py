"""Real processes for the reliability tests: API servers (`tracemark serve`) and a logged demo setup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from api.keys import create_api_key
from ledger.config import Settings, init_log
from ledger.demo import DemoResult, run_demo
from tests.servers import free_port, stop

BIN = Path(sys.executable).parent


def demo_parties(settings: Settings) -> DemoResult:
    """The demo's parties registered on a fresh log (no items), on the real clock."""
    return run_demo(init_log(settings), items=0)


def party_file(settings: Settings, result: DemoResult, path: Path) -> Path:
    """Each demo party's private key and a fresh API key, for client processes."""
    ledger = init_log(settings)
    parties = {pid: {"key": p.account.key.hex(), "origin": p.origin, "token": create_api_key(ledger, pid, "reliability").token}
               for pid, p in result.parties.items()}
    ledger.db.dispose()
    path.write_text(json.dumps(parties))
    return path


@contextmanager
def api_server(settings: Settings, log: Path, **env: str) -> Iterator[str]:
    """`tracemark serve` on a free port of 127.0.0.1; yields its base URL, stops it with SIGTERM."""
    port = free_port()
    environ = {**os.environ, "TRACEMARK_ORIGIN": settings.origin, **env}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(BIN / "tracemark"), "serve", "--db", settings.db_url, "--home", str(settings.home), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=environ)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the API server exited with {process.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start in 60 s: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        stop(process, 20)
