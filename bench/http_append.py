"""Single-event appends over HTTP: `POST /v1/events` with 16 concurrent clients.

Each client posts pre-signed `mark_firearm` envelopes one at a time to `tracemark serve` on a
fresh SQLite log; each answer carries its receipt, inclusion proof and a fresh checkpoint. The
baseline in the same run is a bare FastAPI endpoint that parses the same envelope and inserts
it as one durable SQLite row (`bench._bare_app`).

    python -m bench.http_append [--quick]
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from api.keys import create_api_key
from bench._common import Row, cli, note, temp_settings
from bench._http import bare_server, load, tracemark_server
from bench._log import MAKER, bench_log, signed_marks
from ledger.log.keys import new_account

__all__ = ["run", "CLIENTS"]

CLIENTS = 16


def run(quick: bool = False) -> dict[str, Any]:
    """Appends/s over HTTP against the bare insert endpoint."""
    seconds, events = (4.0, 3000) if quick else (15.0, 20_000)
    maker = new_account()
    envelopes = signed_marks(maker, events, "HTTP")
    note(f"http_append: {CLIENTS} clients posting single events for up to {seconds:.0f} s, then the bare insert endpoint")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = temp_settings(folder)
        ledger = bench_log(settings, maker)
        token = create_api_key(ledger, MAKER, "bench").token
        ledger.db.dispose()
        with tracemark_server(settings, folder) as url:
            api = load(f"{url}/v1/events", envelopes, clients=CLIENTS, seconds=seconds, headers={"Authorization": f"Bearer {token}"}, ok=201)
        with bare_server(folder) as url:
            bare = load(f"{url}/insert", envelopes, clients=CLIENTS, seconds=seconds, ok=201)
    return {
        "quick": quick, "clients": CLIENTS, "seconds": seconds, "api": api, "bare": bare,
        "rows": [Row("single appends over HTTP, 16 clients", api["per_s"], "ev/s", bare["per_s"], "bare FastAPI one insert",
                     ">= 0.5x", api["per_s"] >= 0.5 * bare["per_s"] and api["errors"] == 0)],
    }


if __name__ == "__main__":
    cli("http_append", run)
