"""Border scans over HTTP: scans per second and p50/p99 latency with 50 concurrent clients.

`tracemark serve` runs on a demo log (SQLite, one uvicorn process, each scan judged, recorded as
a server-signed `inspect` event and answered with proofs against a fresh checkpoint). A bare
FastAPI endpoint parsing the same body runs under uvicorn on the same machine in the same run;
the ratio says what the ledger costs on top of the web stack.

    python -m bench.scan [--quick]
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

from bench._common import Row, cli, note, temp_settings
from bench._http import bare_server, load, tracemark_server
from ledger.config import init_log
from ledger.demo import run_demo

__all__ = ["run", "CLIENTS"]

CLIENTS = 50


def run(quick: bool = False) -> dict[str, Any]:
    """Scans/s, p50 and p99 of `/v1/scan` against the bare endpoint, 50 clients each."""
    seconds = 4.0 if quick else 15.0
    note(f"scan: {CLIENTS} clients, {seconds:.0f} s against /v1/scan, then as long against the bare endpoint")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = temp_settings(folder)
        ledger = init_log(settings)
        demo = run_demo(ledger, keys_dir=settings.keys_dir, items=20 if quick else 200)
        ledger.db.dispose()
        bodies = [{"code": uid, "country": "DE", "location": "FRA cargo", "direction": "import"} for uid in demo.items.values()]
        with tracemark_server(settings, folder) as url:
            token = json.loads((settings.home / "api-keys.json").read_text())["de-customs"]["api_key"]
            scan = load(f"{url}/v1/scan", itertools.cycle(bodies), clients=CLIENTS, seconds=seconds, headers={"Authorization": f"Bearer {token}"})
        with bare_server(folder) as url:
            bare = load(f"{url}/bare", itertools.cycle(bodies), clients=CLIENTS, seconds=seconds)
    return {
        "quick": quick, "clients": CLIENTS, "seconds": seconds, "scan": scan, "bare": bare,
        "rows": [
            Row("scans over HTTP, 50 clients", scan["per_s"], "scans/s", bare["per_s"], "bare FastAPI constant", ">= 1,000/s",
                scan["per_s"] >= 1000 and scan["errors"] == 0),
            Row("  scan latency p50", scan["p50_ms"], "ms", bare["p50_ms"], "bare FastAPI constant"),
            Row("  scan latency p99", scan["p99_ms"], "ms", bare["p99_ms"], "bare FastAPI constant", "<= 50 ms", scan["p99_ms"] <= 50),
        ],
    }


if __name__ == "__main__":
    cli("scan", run)
