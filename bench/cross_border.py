"""Cross-border scans beside local ones: scans per second and p50/p99 latency with 50 clients, and
how long a status change in one log takes to reach the other log's verdict.

The network of `make run-network` (a German log on PostgreSQL, a Kenyan log on SQLite, a witness)
runs in a temporary folder. The same German codes are scanned at the German log (local: the
baseline, measured in the same run) and at the Kenyan log, which asks the German log for each
item's status over a signed request and verifies the answer's proof before it answers its officer.
Then the clean German pistol is reported stolen on the German log, and the Kenyan log is scanned
until its verdict says so.

    python -m bench.cross_border [--quick]
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench._common import Row, cli, note
from bench._http import _free_port, blast
from ledger import DEMO_PASSPHRASE, format_time, load_keystore, open_ledger, sign_event, utc_now
from scanner.markings import label_for
from tracemark.network import DEFAULT_DE_DB, Network, prepare, reset, running

__all__ = ["run", "CLIENTS"]

CLIENTS = 50
STOLEN = "REPORTED_LOST_STOLEN"


def run(quick: bool = False) -> dict[str, Any]:
    """Local and cross-border scans back to back, then the time a theft takes to reach the other log."""
    seconds = 4.0 if quick else 15.0
    note(f"cross-border: {CLIENTS} clients, {seconds:.0f} s of German codes scanned at the German log, then at the Kenyan log")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "network"
        de_db = DEFAULT_DE_DB.rsplit("/", 1)[0] + f"/tracemark_bench_{uuid.uuid4().hex[:10]}"
        network = prepare(folder, de_db, ports=_ports(), items=2)
        try:
            with running(network):
                codes = _codes(network)
                local = _scan(network, "de", codes, seconds)
                cross = _scan(network, "ke", codes, seconds)
                code = codes[network.items["de"]["valid_firearm"]]
                one_ms = _kenyan_scan(network, code)[1]
                reach_ms = _theft_reaches_kenya(network, code)
        finally:
            reset(folder)
    return {
        "quick": quick, "clients": CLIENTS, "seconds": seconds, "local": local, "cross": cross, "theft_reaches_ms": reach_ms, "one_scan_ms": one_ms,
        "rows": [
            Row("cross-border scans, 50 clients", cross["per_s"], "scans/s", local["per_s"], "local scans, same codes", ">= 0.5x",
                cross["per_s"] >= 0.5 * local["per_s"] and cross["errors"] == 0),
            Row("  cross-border latency p50", cross["p50_ms"], "ms", local["p50_ms"], "local scans, same codes"),
            Row("  cross-border latency p99", cross["p99_ms"], "ms", local["p99_ms"], "local scans, same codes", "<= 100 ms",
                cross["p99_ms"] <= 100),
            Row("theft in DE to the Kenyan verdict", reach_ms, "ms", one_ms, "one cross-border scan, unloaded"),
        ],
    }


def _ports() -> tuple[int, int, int]:
    return _free_port(), _free_port(), _free_port()


def _codes(network: Network) -> dict[str, str]:
    """Each German demo item's v3 code, as its label carries it."""
    ledger = open_ledger(network.de.settings)
    try:
        return {uid: label_for(ledger, uid, network.de.settings.keys_dir, DEMO_PASSPHRASE, "TRACEMARK.LOCAL").payload
                for uid in network.items["de"].values()}
    finally:
        ledger.db.dispose()


def _scan(network: Network, log: str, codes: dict[str, str], seconds: float) -> dict[str, float]:
    node = network.de if log == "de" else network.ke
    bodies = [{"code": code, "country": log.upper(), "location": "bench", "direction": "import"} for code in codes.values()]
    return blast(f"{node.url}/v1/scan", bodies, clients=CLIENTS, seconds=seconds,
                 headers={"Authorization": f"Bearer {node.api_key(f'{log}-customs')}"})


def _theft_reaches_kenya(network: Network, code: str) -> float:
    """Milliseconds from the German police's report of the clean pistol's theft to a Kenyan scan saying stolen."""
    settings = network.de.settings
    uid = network.items["de"]["valid_firearm"]
    police = load_keystore(settings.keys_dir / "de-police.json", DEMO_PASSPHRASE)
    event = {"type": "report_stolen", "actor": "de-police", "time": format_time(utc_now()), "item": uid, "place": "Frankfurt am Main",
             "details": "taken from the dealer's safe"}
    ledger = open_ledger(settings)
    began = time.perf_counter()
    ledger.append(sign_event(police, event, origin=ledger.origin))
    ledger.db.dispose()
    while _kenyan_scan(network, code)[0] != STOLEN:
        if time.perf_counter() - began > 60:
            raise RuntimeError("the Kenyan log never saw the theft within 60 s")
    return (time.perf_counter() - began) * 1000


def _kenyan_scan(network: Network, code: str) -> tuple[str | None, float]:
    """One scan of `code` at the Kenyan log: its verdict and how many milliseconds it took."""
    headers = {"Authorization": f"Bearer {network.ke.api_key('ke-customs')}"}
    body = {"code": code, "country": "KE", "location": "bench", "direction": "import"}
    began = time.perf_counter()
    verdict = httpx.post(f"{network.ke.url}/v1/scan", json=body, headers=headers, timeout=10).json().get("verdict")
    return verdict, (time.perf_counter() - began) * 1000


if __name__ == "__main__":
    cli("cross_border", run)
