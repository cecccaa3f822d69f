"""Append throughput: signed events per second, one per transaction and 1,000 per transaction.

The same run measures the machine's bare limit for the same rows: SHA-256 of the event and
the entry, secp256k1 recovery of the signer (coincurve, the fastest backend), and a plain
sqlite3 `executemany` insert with the same durability settings (WAL, synchronous=FULL).
The ledger's rate is printed as a ratio of that limit. Events are signed before timing.

    python -m bench.append [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import coincurve
from eth_hash.auto import keccak
from ulid import ULID

from bench import save_results
from ledger.codec import format_time, utc_now
from ledger.config import Settings, init_log
from ledger.entry import entry_bytes
from ledger.events import event_bytes
from ledger.keys import LocalAccount, new_account
from ledger.signatures import sign_event
from ledger.store import Ledger

__all__ = ["run"]

SIZES = {False: {"single": 1000, "batched": 10_000}, True: {"single": 200, "batched": 2000}}
BATCH = 1000
_ENTRY_COLUMNS = "seq, prev_hash, leaf_hash, event, event_hash, event_type, item_uid, actor, signer, signature, recorded_at"


def _ledger(folder: Path, maker: LocalAccount) -> Ledger:
    """A fresh log with an admin and one licensed manufacturer holding `maker`'s key."""
    ledger = init_log(Settings(db_url=f"sqlite:///{folder / 'ledger.db'}", home=folder / "home", origin="bench.tracemark.local/log"))
    admin = new_account()
    now = utc_now()
    parties = [
        {"id": "registry", "name": "Registry", "role": "admin", "country": "BE", "addresses": [admin.address]},
        {"id": "maker", "name": "Maker", "role": "manufacturer", "country": "IT", "addresses": [maker.address], "licence_number": "IT-1",
         "licence_valid_from": format_time(now - timedelta(days=10)), "licence_valid_until": format_time(now + timedelta(days=10))},
    ]
    for info in parties:
        ledger.append(sign_event(admin, {"type": "register_party", "actor": "registry", "time": format_time(now), "party": info}))
    return ledger


def _signed_marks(maker: LocalAccount, count: int, prefix: str) -> list[dict[str, Any]]:
    when = format_time(utc_now() - timedelta(minutes=1))
    return [
        sign_event(maker, {"type": "mark_firearm", "actor": "maker", "time": when, "item": str(ULID()),
                           "marking": {"maker_code": "BENCH", "serial": f"{prefix}-{n:07d}", "country": "IT", "year": 2026,
                                       "make": "Bench", "model": "B1", "category": "B", "calibre": "9x19mm"}})
        for n in range(count)
    ]


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _ledger_rate(envelopes: Sequence[dict[str, Any]], maker: LocalAccount, batch: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = _ledger(Path(tmp), maker)
        if batch == 1:
            seconds = _timed(lambda: [ledger.append(envelope) for envelope in envelopes])
        else:
            seconds = _timed(lambda: [ledger.append_batch(envelopes[i : i + batch]) for i in range(0, len(envelopes), batch)])
        assert ledger.size() == len(envelopes) + 2
        ledger.db.dispose()
    return len(envelopes) / seconds


def _recover(message: bytes, signature: str) -> str:
    """EIP-191 signer recovery straight on coincurve: the cheapest way to do what the ledger must."""
    raw = bytes.fromhex(signature[2:])
    digest = keccak(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)
    public = coincurve.PublicKey.from_signature_and_message(raw[:64] + bytes([raw[64] - 27]), digest, hasher=None)
    return "0x" + keccak(public.format(compressed=False)[1:])[-20:].hex()


def _bare_rate(envelopes: Sequence[dict[str, Any]], batch: int) -> float:
    """Hash, recover and insert the same rows with nothing else: the machine's limit."""
    signed = [(event_bytes(e["event"]), e["signer"], e["signature"]) for e in envelopes]
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(Path(tmp) / "bare.db", isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute(f"CREATE TABLE entry ({_ENTRY_COLUMNS.replace('seq', 'seq INTEGER PRIMARY KEY', 1)})")
        recorded = format_time(utc_now())

        def append_all() -> None:
            prev = bytes(32)
            for start in range(0, len(signed), batch):
                rows = []
                for seq, (event, signer, signature) in enumerate(signed[start : start + batch], start):
                    event_hash = hashlib.sha256(event).digest()
                    if _recover(event, signature) != signer.lower():
                        raise AssertionError(f"signature of row {seq} does not recover to its signer")
                    leaf = hashlib.sha256(b"\x00" + entry_bytes(seq, prev, recorded, event, signer, signature)).digest()
                    rows.append((seq, prev, leaf, event, event_hash, "mark_firearm", None, "maker", signer, signature, recorded))
                    prev = leaf
                con.execute("BEGIN IMMEDIATE")
                con.executemany(f"INSERT INTO entry ({_ENTRY_COLUMNS}) VALUES ({', '.join('?' * 11)})", rows)
                con.execute("COMMIT")

        seconds = _timed(append_all)
        con.close()
    return len(signed) / seconds


def run(quick: bool = False) -> dict[str, Any]:
    """Measure, print and save events/second for batches of 1 and of 1,000."""
    sizes = SIZES[quick]
    maker = new_account()
    results: dict[str, Any] = {"quick": quick}
    print(f"{'batch':>6} {'events':>7} {'ledger ev/s':>12} {'bare ev/s':>10} {'ratio':>6}")
    for name, batch in (("single", 1), ("batched", BATCH)):
        envelopes = _signed_marks(maker, sizes[name], name.upper())
        ledger_eps, bare_eps = _ledger_rate(envelopes, maker, batch), _bare_rate(envelopes, batch)
        ratio = ledger_eps / bare_eps
        results[f"batch_{batch}"] = {"events": len(envelopes), "ledger_events_per_s": round(ledger_eps, 1),
                                     "bare_events_per_s": round(bare_eps, 1), "ratio": round(ratio, 3)}
        print(f"{batch:>6} {len(envelopes):>7} {ledger_eps:>12.1f} {bare_eps:>10.1f} {ratio:>6.2f}", flush=True)
    save_results("append", results)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    run(quick=parser.parse_args(argv).quick)


if __name__ == "__main__":
    main()
