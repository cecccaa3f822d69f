"""A real signed-event log grown in its own process: bytes on disk per event, RSS while appending,
append rate as it grows, and the full audit (`tracemark verify`) of it.

The appender (`bench._appender`) runs alone so its RSS is its own; it appends batches of 1,000
signed `mark_firearm` events until it reaches the target size or its time is up (the size
reached is reported). Storage is the SQLite file after a WAL checkpoint, over the events it
holds. The audit runs `ledger.audit.recompute.audit` over the whole log; its baseline is SHA-256 and
signature recovery alone (`bench._log.bare_rows`) over the log's first 500,000 entries, in
the same run.

    python -m bench.signed_log [--quick]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import Row, cli, disk_bytes, note, temp_settings, timed
from bench._log import bare_rows
from ledger.audit.recompute import audit
from ledger.config import open_ledger
from ledger.store.ledger import Ledger

__all__ = ["run", "TARGETS"]

TARGETS = {False: (10**7, 5400.0), True: (10**5, 15.0)}  # events wanted, seconds allowed (10^7 takes about 40 minutes here)
BASELINE_SAMPLE = 500_000  # entries the audit's baseline hashes and recovers: a rate, so a large sample is enough
RSS_LIMIT_MB = 300
FLAT_MB = 50  # RSS may grow this much after the first quarter of the run and still count as flat


def _grow(folder: Path, events: int, seconds: float) -> list[dict[str, float]]:
    command = [sys.executable, "-m", "bench._appender", str(folder), str(events), str(seconds)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the appender failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines()]


def _audit(folder: Path) -> tuple[float, float, list[dict[str, float]]]:
    """Audit events/s, baseline events/s, and the audit's rate chunk by chunk as it walks the log."""
    settings = temp_settings(folder)
    ledger = open_ledger(settings)
    marks: list[tuple[int, float]] = []
    try:
        with ledger.reading() as session:
            began = time.perf_counter()
            report = audit(session, settings.verifier_key(), settings.origin, lambda done, _total: marks.append((done, time.perf_counter())))
            audit_s = time.perf_counter() - began
        if not report.ok:
            raise AssertionError(f"the audit of the benchmark log found {report.first}")
        bare = _bare_rate(ledger, min(report.size, BASELINE_SAMPLE))
    finally:
        ledger.db.dispose()
    times = [began] + [when for _, when in marks]
    steps = [(done, times[n + 1] - times[n]) for n, (done, _) in enumerate(marks)]
    return report.size / audit_s, bare, _rate_by_size(steps[1:] or steps)  # the first step also starts the worker processes


def _bare_rate(ledger: Ledger, count: int, chunk: int = 10_000) -> float:
    """SHA-256 and recovery alone over the log's first `count` entries, read a chunk at a time (untimed)."""
    spent = 0.0
    for start in range(0, count, chunk):
        signed = [(e.event, e.signer, e.signature) for e in ledger.entries(start, min(start + chunk, count))]
        spent += timed(lambda: sum(1 for _ in bare_rows(signed, chunk)))  # noqa: B023 - called at once
    return count / spent


def _rate_by_size(steps: list[tuple[float, float]], points: int = 12) -> list[dict[str, float]]:
    """Events/s over about `points` log-spaced stretches of the log, from (size after a step, seconds the step took)."""
    factor = (steps[-1][0] / steps[0][0]) ** (1 / points) if len(steps) > 1 else 2.0
    rates, before, spent, edge = [], 0.0, 0.0, steps[0][0]
    for size, seconds in steps:
        spent += seconds
        if size >= edge or size == steps[-1][0]:
            rates.append({"events": size, "events_per_s": (size - before) / spent})
            before, spent, edge = size, 0.0, size * factor
    return rates


def run(quick: bool = False) -> dict[str, Any]:
    """Storage per event, peak and growth of RSS, append rate by size, and the audit rate."""
    events, seconds = TARGETS[quick]
    note(f"signed_log: appending up to {events:,} signed events for at most {seconds:.0f} s in a child process, then auditing them")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        samples = _grow(folder, events, seconds)
        reached = int(samples[-1]["events"])
        per_event = disk_bytes(folder / "bench.db") / (reached + 2)
        audit_rate, bare_rate, audit_steps = _audit(folder)
    quarter = samples[len(samples) // 4]["rss_mb"]
    peak, growth = samples[-1]["peak_rss_mb"], samples[-1]["rss_mb"] - quarter
    append_steps = _rate_by_size([(s["events"], s["append_s"]) for s in samples])
    note(f"  reached {reached:,} events (wanted {events:,}); peak RSS {peak:.0f} MB")
    return {
        "quick": quick, "events_wanted": events, "events_reached": reached, "bytes_per_event": per_event,
        "peak_rss_mb": peak, "rss_growth_mb": growth, "append_growth": append_steps, "audit_growth": audit_steps,
        "rows": [
            Row(f"storage per event, markings only ({reached:,} events)", per_event, "B", target="<= 1,024 B", met=per_event <= 1024),
            Row(f"peak RSS appending {reached:,} events", peak, "MB", target=f"<= {RSS_LIMIT_MB} MB, flat", met=peak <= RSS_LIMIT_MB and growth <= FLAT_MB),
            Row("  RSS growth after the first quarter", growth, "MB", target=f"<= {FLAT_MB} MB", met=growth <= FLAT_MB),
            Row(f"full audit ({reached:,} events)", audit_rate, "ev/s", bare_rate, "SHA-256+recovery alone", ">= 0.5x", audit_rate >= 0.5 * bare_rate),
        ],
    }


if __name__ == "__main__":
    cli("signed_log", run)
