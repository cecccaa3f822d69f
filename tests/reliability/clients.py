"""Client processes of the reliability tests: API writers, and a direct batch writer to kill.

Run as `python -m tests.reliability.clients batch-writer DB_URL HOME ORIGIN PARTIES ACKS BATCH [BATCHES]`;
the API writer is started through multiprocessing (`api_writer`).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account

from ledger.config import Settings, open_ledger
from ledger.demo import PARTIES, DemoParty, _firearm
from ledger.log.codec import utc_now

DEALER = "de-jagd-schmidt"


def party(parties: dict[str, Any], party_id: str) -> DemoParty:
    role, country = next((role, country) for pid, _, role, country, _ in PARTIES if pid == party_id)
    return DemoParty(party_id, role, country, Account.from_key(parties[party_id]["key"]), parties[party_id]["origin"])


def shipments(maker: DemoParty, tag: str, count: int) -> list[dict[str, Any]]:
    """`count` signed events: firearms marked by `maker`, each then sent to a dealer (a mark and a transfer)."""
    when = utc_now() - timedelta(minutes=1)
    envelopes = []
    for n in range(count // 2):
        uid, marking = _firearm(maker, f"{tag}-{n}", "APX A1")
        envelopes.append(maker.envelope("mark_firearm", when, None, item=uid, marking=marking))
        envelopes.append(maker.envelope("transfer", when, None, item=uid, to=DEALER, reference=f"{tag}-{n}"))
    return envelopes


def api_writer(url: str, parties_file: str, party_id: str, tag: str, count: int, batch: int, out: str) -> None:
    """Post `count` events in batches through the API; keep every receipt (seq, leaf hash, proof, checkpoint)."""
    parties = json.loads(Path(parties_file).read_text())
    envelopes = shipments(party(parties, party_id), tag, count)
    headers = {"Authorization": f"Bearer {parties[party_id]['token']}"}
    receipts = []
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for start in range(0, len(envelopes), batch):
            response = client.post("/v1/events:batch", json={"envelopes": envelopes[start:start + batch]})
            if response.status_code != 201:
                raise RuntimeError(f"{party_id} batch at {start}: {response.status_code} {response.text[:500]}")
            receipts.extend(response.json()["receipts"])
    Path(out).write_text(json.dumps({"receipts": receipts, "event_hashes": [r["event_hash"] for r in receipts]}))


def batch_writer(db_url: str, home: str, origin: str, parties_file: str, acks: str, batch: int, batches: int) -> None:
    """Append batches straight through the ledger; after each commit, write its event hashes to `acks` (fsync)."""
    ledger = open_ledger(Settings(db_url=db_url, home=Path(home), origin=origin))
    maker = party(json.loads(Path(parties_file).read_text()), "it-beretta")
    tag = f"CRASH{os.getpid()}"
    with open(acks, "a") as out:
        n = 0
        while batches <= 0 or n < batches:
            receipts = ledger.append_batch(shipments(maker, f"{tag}-{n}", batch))
            out.write("".join(r.event_hash.hex() + "\n" for r in receipts))
            out.flush()
            os.fsync(out.fileno())
            n += 1


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    assert command == "batch-writer", command
    db_url, home, origin, parties_file, acks, batch, batches = args
    batch_writer(db_url, home, origin, parties_file, acks, int(batch), int(batches))
