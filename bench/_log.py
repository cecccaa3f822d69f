"""A benchmark's log and its events: a fresh log with one licensed maker, and signed markings.

Also the machine's bare limit for the same rows (`bare_rows`): SHA-256 of event and entry,
secp256k1 recovery straight on coincurve and nothing else, which the append, PostgreSQL and
audit benchmarks put beside the ledger's own rate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import coincurve
from ulid import ULID

from bench._common import ORIGIN
from ledger.config import Settings, init_log
from ledger.domain.events import event_bytes
from ledger.log.codec import format_time, utc_now
from ledger.log.entry import GENESIS_PREV, entry_bytes, event_key
from ledger.log.keys import LocalAccount, keccak_256, new_account
from ledger.log.merkle import LEAF_PREFIX
from ledger.log.signatures import sign_event
from ledger.store.ledger import Ledger

__all__ = ["MAKER", "ENTRY_COLUMNS", "bench_log", "signed_marks", "recover", "canonical", "bare_rows"]

MAKER = "maker"
ENTRY_COLUMNS = ("seq", "leaf_hash", "event", "event_key", "event_type", "item_uid", "actor", "signer", "signature", "recorded_at")


def bench_log(settings: Settings, maker: LocalAccount) -> Ledger:
    """A fresh log with an admin and one licensed manufacturer (`MAKER`) holding `maker`'s key."""
    ledger = init_log(settings)
    admin = new_account()
    now = utc_now()
    parties = [
        {"id": "registry", "name": "Registry", "role": "admin", "country": "BE", "addresses": [admin.address]},
        {"id": MAKER, "name": "Maker", "role": "manufacturer", "country": "IT", "addresses": [maker.address], "licence_number": "IT-1",
         "licence_valid_from": format_time(now - timedelta(days=10)), "licence_valid_until": format_time(now + timedelta(days=3650))},
    ]
    for info in parties:
        ledger.append(sign_event(admin, {"type": "register_party", "actor": "registry", "time": format_time(now), "party": info},
                                 origin=ledger.origin))
    return ledger


def signed_marks(maker: LocalAccount, count: int, prefix: str) -> list[dict[str, Any]]:
    """`count` signed `mark_firearm` envelopes by `MAKER` for a benchmark log (`ORIGIN`), serials `prefix-0000000`..."""
    when = format_time(utc_now() - timedelta(minutes=1))
    envelopes = []
    for n in range(count):
        event = {"type": "mark_firearm", "actor": MAKER, "time": when, "item": str(ULID()),
                 "marking": {"maker_code": "BENCH", "serial": f"{prefix}-{n:07d}", "country": "IT", "year": 2026,
                             "make": "Bench", "model": "B1", "category": "B", "calibre": "9x19mm"}}
        envelopes.append(sign_event(maker, event, origin=ORIGIN))
    return envelopes


def recover(message: bytes, signature: str) -> str:
    """EIP-191 signer recovery straight on coincurve (lower-case address): the cheapest way to do what the ledger must."""
    raw = bytes.fromhex(signature[2:])
    digest = keccak_256(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)
    public = coincurve.PublicKey.from_signature_and_message(raw[:64] + bytes([raw[64] - 27]), digest, hasher=None)
    return "0x" + keccak_256(public.format(compressed=False)[1:])[-20:].hex()


def canonical(envelopes: Sequence[dict[str, Any]]) -> list[tuple[bytes, str, str]]:
    """(event bytes, signer, signature) of each envelope: the baseline's input, made before timing."""
    return [(event_bytes(e["event"]), e["signer"], e["signature"]) for e in envelopes]


def bare_rows(signed: Sequence[tuple[bytes, str, str]], batch: int) -> Iterator[list[tuple[Any, ...]]]:
    """Hash and recover every event and yield its entry rows (`ENTRY_COLUMNS`), `batch` at a time."""
    recorded = format_time(utc_now())
    prev = GENESIS_PREV
    for start in range(0, len(signed), batch):
        rows = []
        for seq, (event, signer, signature) in enumerate(signed[start : start + batch], start):
            key = event_key(event)
            if recover(event, signature) != signer.lower():
                raise AssertionError(f"signature of row {seq} does not recover to its signer")
            leaf = hashlib.sha256(LEAF_PREFIX + entry_bytes(seq, prev, recorded, event, signer, signature)).digest()
            rows.append((seq, leaf, event, key, "mark_firearm", None, MAKER, signer, signature, recorded))
            prev = leaf
        yield rows
