"""Delay from a new checkpoint to its quorum of cosignatures: a log on SQLite and two local witnesses.

Three `tracemark serve` processes: two witnesses, each witnessing the log, and the log, configured
with both before it starts. Each round posts one event to the log (its answer carries the new
checkpoint), then watches the log's database until both witnesses' cosignatures of a checkpoint
covering that event are kept; the rounds are spaced at random, so a checkpoint falls anywhere in
the witnessing worker's polling interval. The baseline in the same run is the append's own round trip.

    python -m bench.quorum [--quick]
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from api.keys import create_api_key
from bench._common import ORIGIN, Row, cli, note
from bench._http import tracemark_server
from bench._log import MAKER, bench_log, signed_marks
from ledger.config import Settings, init_log
from ledger.log.keys import new_account
from ledger.witness.cosigners import add_witness
from ledger.witness.state import Witness

__all__ = ["run", "WITNESSES"]

WITNESSES = 2
_QUORUM = """SELECT COUNT(DISTINCT c.witness) FROM cosignature c JOIN checkpoint k ON k.id = c.checkpoint_id
             WHERE k.size >= ?"""


def _witness_settings(folder: Path, n: int) -> Settings:
    return Settings(db_url=f"sqlite:///{folder / f'witness{n}.db'}", home=folder / f"witness{n}", origin=f"witness{n}.bench.local/log")


def _cosigned(database: Path, size: int, deadline: float) -> float:
    """When the log's database first keeps `WITNESSES` witnesses' cosignatures of a checkpoint of `size` or more."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as con:
        while con.execute(_QUORUM, (size,)).fetchone()[0] < WITNESSES:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"no quorum of {WITNESSES} cosignatures on size {size} within 30 s")
            time.sleep(0.002)
    return time.perf_counter()


def run(quick: bool = False) -> dict[str, Any]:
    """Median and p99 seconds from an append's answer to its checkpoint's two cosignatures."""
    rounds = 15 if quick else 100
    maker = new_account()
    envelopes = signed_marks(maker, rounds, "QUORUM")
    note(f"quorum: {rounds} appends to a log on SQLite, each until {WITNESSES} local witness processes have cosigned it")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = Settings(db_url=f"sqlite:///{folder / 'log.db'}", home=folder / "log", origin=ORIGIN)
        ledger = bench_log(settings, maker)
        token = create_api_key(ledger, MAKER, "bench").token
        size = ledger.size()
        witnesses = [_witness_settings(folder, n) for n in range(WITNESSES)]
        for witness in witnesses:
            own = init_log(witness)
            Witness(own.db, witness.witness_keys()).add_log(settings.origin, settings.verifier_key())
            own.db.dispose()
        with tracemark_server(witnesses[0], folder / "witness0") as first, tracemark_server(witnesses[1], folder / "witness1") as second:
            for n, (witness, url) in enumerate(zip(witnesses, (first, second), strict=True)):
                add_witness(ledger, f"w{n}", " ".join(key.vkey for key in witness.witness_keys()), f"{url}/witness")
            ledger.db.dispose()
            with tracemark_server(settings, folder) as url, httpx.Client(base_url=url, timeout=30) as client:
                appends, delays = [], []
                for envelope in envelopes:
                    time.sleep(random.uniform(0.05, 0.6))
                    began = time.perf_counter()
                    answer = client.post("/v1/events", json=envelope, headers={"Authorization": f"Bearer {token}"})
                    answered = time.perf_counter()
                    if answer.status_code != 201:
                        raise RuntimeError(f"append answered {answer.status_code}: {answer.text[:300]}")
                    size += 1
                    delays.append(_cosigned(folder / "log.db", size, answered + 30) - answered)
                    appends.append(answered - began)
    cuts = statistics.quantiles(delays, n=100)
    median, p99, append = cuts[49] * 1000, cuts[98] * 1000, statistics.median(appends) * 1000
    return {
        "quick": quick, "rounds": rounds, "witnesses": WITNESSES, "median_ms": median, "p99_ms": p99, "append_ms": append,
        "rows": [
            Row(f"checkpoint to {WITNESSES}-witness quorum, median", median, "ms", append, "the append's round trip"),
            Row(f"checkpoint to {WITNESSES}-witness quorum, p99", p99, "ms", append, "the append's round trip"),
        ],
    }


if __name__ == "__main__":
    cli("quorum", run)
