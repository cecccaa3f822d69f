"""Checkpoints cosigned per second by a `tracemark serve` witness on SQLite, `POST /witness/add-checkpoint`.

The witness witnesses `CLIENTS` test logs; each client is one of those logs, submitting its own
stream of growing checkpoints back to back, each from the size the one before it was cosigned at,
with its consistency proof (tlog-witness: a log submits in order, one at a time). Every answer
must be the witness's cosignatures (200). The test logs share one leaf sequence, so the proofs
and roots are computed once and only the signed notes differ. The baseline, in the same run from
the same client, is the same server process answering `GET /healthz`: what any request costs it.

    python -m bench.witness [--quick]
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Any

from bench._common import Row, cli, note, temp_settings
from bench._http import blast_gets, blast_in_order, tracemark_server
from ledger.config import Settings, init_log
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, LogKey, sign_checkpoint
from ledger.witness.state import Witness

__all__ = ["run", "TestLogs", "CLIENTS", "TARGET"]

CLIENTS = 32
TARGET = 1000.0
"""add-checkpoint calls a second the witness must answer."""


class TestLogs:
    """`count` logs of the benchmark's making over one leaf sequence: their keys, and each one's
    add-checkpoint bodies growing one leaf at a time up to `steps` leaves."""

    def __init__(self, count: int, steps: int, prefix: str = "bench.witnessed.example/log") -> None:
        self.keys = [LogKey.generate(f"{prefix}{n}") for n in range(count)]
        leaves = [merkle.leaf_hash(n.to_bytes(8, "big")) for n in range(steps)]
        tree = merkle.CompactRange()
        self.roots = [tree.root()]
        for leaf in leaves:
            tree.append(leaf)
            self.roots.append(tree.root())
        self.proofs = [b""] + [_proof_lines(merkle.consistency_proof(leaves[:size], size - 1) if size > 1 else [])
                               for size in range(1, steps + 1)]
        self.steps = steps

    def vkeys(self) -> list[tuple[str, str]]:
        """(origin, verifier key) of each log, as the witness is told of them."""
        return [(key.name, key.verifier_key) for key in self.keys]

    def note(self, log: int, size: int) -> str:
        return sign_checkpoint(Checkpoint(self.keys[log].name, size, self.roots[size]), self.keys[log])

    def body(self, log: int, size: int) -> bytes:
        """Log `log`'s checkpoint of `size`, submitted from `size - 1` with its consistency proof."""
        return b"old %d\n%s\n%s" % (size - 1, self.proofs[size], self.note(log, size).encode())

    def bodies(self, log: int) -> list[bytes]:
        return [self.body(log, size) for size in range(1, self.steps + 1)]


def _proof_lines(proof: list[bytes]) -> bytes:
    return b"".join(base64.b64encode(h) + b"\n" for h in proof)


def witness_of(settings: Settings, logs: TestLogs) -> None:
    """Make `settings`' server a witness of every test log."""
    ledger = init_log(settings)
    witness = Witness(ledger.db, settings.witness_keys())
    for origin, vkey in logs.vkeys():
        witness.add_log(origin, vkey)
    ledger.db.dispose()


def run(quick: bool = False) -> dict[str, Any]:
    """add-checkpoint calls/s from `CLIENTS` logs against the same server's health checks/s."""
    seconds, steps = (5.0, 300) if quick else (20.0, 1200)
    logs = TestLogs(CLIENTS, steps)
    sequences = [logs.bodies(n) for n in range(CLIENTS)]
    note(f"witness: {CLIENTS} logs submitting growing checkpoints back to back for {seconds:.0f} s to a tracemark serve witness, "
         "then its /healthz")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = temp_settings(folder)
        witness_of(settings, logs)
        with tracemark_server(settings, folder) as url:
            cosigned = blast_in_order(f"{url}/witness/add-checkpoint", sequences, seconds=seconds)
            health = blast_gets(url, ["/healthz"], clients=CLIENTS, seconds=seconds)
    if cosigned["requests"] >= CLIENTS * steps:
        raise RuntimeError(f"the test logs ran out of checkpoints ({steps} each) before {seconds} s: give them more steps")
    return {
        "quick": quick, "clients": CLIENTS, "seconds": seconds, "add_checkpoint": cosigned, "healthz": health,
        "rows": [
            Row(f"witness add-checkpoint, {CLIENTS} logs, SQLite", cosigned["per_s"], "calls/s", health["per_s"], "same server's /healthz",
                f">= {TARGET:,.0f}/s", cosigned["per_s"] >= TARGET and cosigned["errors"] == 0),
            Row("  add-checkpoint latency p99", cosigned["p99_ms"], "ms", health["p99_ms"], "same server's /healthz"),
        ],
    }


if __name__ == "__main__":
    cli("witness", run)
