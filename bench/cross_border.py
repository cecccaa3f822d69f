"""Cross-border scans beside local ones: scans per second and p50/p99 latency with 50 clients, and
how long a status change in one log takes to reach the other log's verdict.

The network of `make run-network` (a German log on PostgreSQL, a Kenyan log on SQLite, a witness)
runs in a temporary folder, with 20 bulk German firearms beside the demo's stories. The same German
codes are scanned at the German log (local: the baseline, measured in the same run) and at the
Kenyan log, which asks the German log for each item's status over a signed request, verifies the
answer's proof, and reuses that answer for $TRACEMARK_PEER_CACHE_TTL. Each code is scanned at the
Kenyan log once first (one exchange with the German log each, unloaded: the cold figure), so the
loaded runs measure scans whose peer answer is cached, as a border post scanning a consignment
does: back to back (the most scans a second), then paced at 100 a second (the latency). Then a clean German pistol is scanned at the Kenyan log (its answer cached there from that
moment), reported stolen on the German log at once, and scanned at the Kenyan log until its
verdict says so: the worst case of the TTL's bound.

    python -m bench.cross_border [--quick]
"""

from __future__ import annotations

import itertools
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from unittest.mock import patch

import httpx
from sqlmodel import col, select

from bench._common import Row, cli, note
from bench._http import _free_port, blast, load
from ledger import DEMO_PASSPHRASE, Item, cache_ttl, format_time, load_keystore, open_ledger, peer_timeout, sign_event, utc_now
from scanner.markings import label_for
from tracemark.network import DEFAULT_DE_DB, Network, prepare, reset, running

__all__ = ["run", "CLIENTS", "ITEMS"]

CLIENTS = 50
ITEMS = 20
"""Bulk German firearms beside the demo's stories."""
PACE = 100
"""Scans a second of the paced runs: below what one German server process keeps up with."""
STOLEN = "REPORTED_LOST_STOLEN"
UNLIMITED = {"TRACEMARK_RATE_LIMIT_WRITES": "0", "TRACEMARK_RATE_LIMIT_SCANS": "0", "TRACEMARK_RATE_LIMIT_PEERS": "0"}
"""The servers' per-caller rate limits are off: one customs officer's key makes every scan."""


def run(quick: bool = False) -> dict[str, Any]:
    """Local and cross-border scans back to back, then the time a theft takes to reach the other log."""
    seconds = 4.0 if quick else 15.0
    ttl_ms = cache_ttl().total_seconds() * 1000  # the servers' own: they run in this environment
    note(f"cross-border: {CLIENTS} clients, {seconds:.0f} s of German codes scanned at the German log, then at the Kenyan log "
         f"(peer answers reused for {ttl_ms / 1000:g} s)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "network"
        de_db = DEFAULT_DE_DB.rsplit("/", 1)[0] + f"/tracemark_bench_{uuid.uuid4().hex[:10]}"
        network = prepare(folder, de_db, ports=_ports(), items=ITEMS)
        try:
            with patch.dict(os.environ, UNLIMITED), running(network):
                target = network.items["de"]["valid_firearm"]
                codes = _codes(network)
                scanned = [code for uid, code in codes.items() if uid != target]
                local, local_paced = _scan(network, "de", scanned, seconds), _paced(network, "de", scanned, seconds)
                cold_ms = statistics.median(_kenyan_scan(network, code)[1] for code in scanned)  # each asks the German log
                cross, cross_paced = _scan(network, "ke", scanned, seconds), _paced(network, "ke", scanned, seconds)
                reach_ms = _theft_reaches_kenya(network, target, codes[target])
        finally:
            reset(folder)
    return {
        "quick": quick, "clients": CLIENTS, "seconds": seconds, "items": len(scanned), "cache_ttl_ms": ttl_ms, "local": local,
        "cross": cross, "pace": PACE, "local_paced": local_paced, "cross_paced": cross_paced, "cold_scan_ms": cold_ms,
        "theft_reaches_ms": reach_ms,
        "rows": [
            Row(f"cross-border scans, 50 clients, {_reuse(ttl_ms)}", cross["per_s"], "scans/s", local["per_s"], "local scans, same codes",
                ">= 0.5x", cross["per_s"] >= 0.5 * local["per_s"] and cross["errors"] == 0),
            Row("  cross-border latency p50", cross["p50_ms"], "ms", local["p50_ms"], "local scans, same codes"),
            Row("  cross-border latency p99", cross["p99_ms"], "ms", local["p99_ms"], "local scans, same codes", "<= 100 ms",
                cross["p99_ms"] <= 100),
            Row(f"cross-border scans paced at {PACE}/s, latency p50", cross_paced["p50_ms"], "ms", local_paced["p50_ms"],
                "local scans, same pace"),
            Row(f"  latency p99 at {PACE}/s", cross_paced["p99_ms"], "ms", local_paced["p99_ms"], "local scans, same pace", "<= 100 ms",
                cross_paced["p99_ms"] <= 100 and cross_paced["errors"] == 0),
            Row("one cross-border scan asking the peer, unloaded", cold_ms, "ms", local_paced["p50_ms"], "local scan p50, paced"),
            Row("theft in DE to the Kenyan verdict, answer cached just before", reach_ms, "ms", ttl_ms, "the cache TTL",
                "<= TTL + peer timeout", reach_ms <= ttl_ms + peer_timeout() * 1000),
        ],
    }


def _reuse(ttl_ms: float) -> str:
    return f"peer answers reused {ttl_ms / 1000:g} s" if ttl_ms else "the peer asked every scan"


def _ports() -> tuple[int, int, int]:
    return _free_port(), _free_port(), _free_port()


def _codes(network: Network) -> dict[str, str]:
    """Every German item's v3 code, as its label carries it."""
    ledger = open_ledger(network.de.settings)
    try:
        with ledger.reading() as session:
            uids = list(session.exec(select(Item.uid).order_by(col(Item.uid))))
        return {uid: label_for(ledger, uid, network.de.settings.keys_dir, DEMO_PASSPHRASE, "TRACEMARK.LOCAL").payload for uid in uids}
    finally:
        ledger.db.dispose()


def _scan(network: Network, log: str, codes: list[str], seconds: float) -> dict[str, float]:
    node = network.de if log == "de" else network.ke
    bodies = [{"code": code, "country": log.upper(), "location": "bench", "direction": "import"} for code in codes]
    return blast(f"{node.url}/v1/scan", bodies, clients=CLIENTS, seconds=seconds,
                 headers={"Authorization": f"Bearer {node.api_key(f'{log}-customs')}"})


def _paced(network: Network, log: str, codes: list[str], seconds: float) -> dict[str, float]:
    """The codes scanned at `PACE` a second, latency counted from when each scan was due."""
    node = network.de if log == "de" else network.ke
    bodies = ({"code": code, "country": log.upper(), "location": "bench", "direction": "import"} for code in itertools.cycle(codes))
    return load(f"{node.url}/v1/scan", bodies, clients=CLIENTS, seconds=seconds, rate=PACE,
                headers={"Authorization": f"Bearer {node.api_key(f'{log}-customs')}"})


def _theft_reaches_kenya(network: Network, uid: str, code: str) -> float:
    """Milliseconds from the German police's report of pistol `uid`'s theft to a Kenyan scan saying
    stolen, the Kenyan log having verified the German answer about it just before."""
    if _kenyan_scan(network, code)[0] == STOLEN:
        raise RuntimeError(f"{uid} is already stolen in the German log")
    settings = network.de.settings
    police = load_keystore(settings.keys_dir / "de-police.json", DEMO_PASSPHRASE)
    event = {"type": "report_stolen", "actor": "de-police", "time": format_time(utc_now()), "item": uid, "place": "Frankfurt am Main",
             "details": "taken from the dealer's safe"}
    ledger = open_ledger(settings)
    began = time.perf_counter()
    ledger.append(sign_event(police, event, origin=ledger.origin))
    ledger.db.dispose()
    while _kenyan_scan(network, code)[0] != STOLEN:
        if time.perf_counter() - began > 120:
            raise RuntimeError("the Kenyan log never saw the theft within 120 s")
        time.sleep(0.05)
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
