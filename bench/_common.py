"""What every benchmark shares: timing, RSS, the results table and the results file.

A benchmark module returns its figures from `run(quick)` as a dict whose `rows` are `Row`s
(each figure beside the baseline measured in the same run); `bench.__main__` prints them as one
table on stdout and merges every module's dict into `bench/results.json`. Progress goes to
stderr through `note`, so stdout holds the table alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ledger.config import Settings

__all__ = [
    "RESULTS",
    "CACHE",
    "ORIGIN",
    "Row",
    "note",
    "timed",
    "median_seconds",
    "rss_mb",
    "peak_rss_mb",
    "temp_settings",
    "disk_bytes",
    "format_table",
    "save_results",
    "cli",
]

RESULTS = Path(__file__).with_name("results.json")
CACHE = Path(__file__).with_name(".cache")
ORIGIN = "bench.tracemark.local/log"
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, its same-run baseline (same unit), the target and whether it is met.

    `ratio` is value / baseline; `met` is None for figures the issue only asks to report.
    """

    figure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = "reported"
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline else self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": None if self.ratio is None else round(self.ratio, 4)}


def note(message: str) -> None:
    """Progress for the reader, on stderr (stdout carries only the table)."""
    print(message, file=sys.stderr, flush=True)


def timed(work: Callable[[], object]) -> float:
    """Seconds `work()` takes."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    """Median of `repeat` timings: robust against the shared machine's hiccups."""
    return statistics.median(timed(work) for _ in range(repeat))


def rss_mb() -> float:
    """This process's resident set size now, in MB (Linux /proc)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * _PAGE / 2**20


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM line in /proc/self/status")


def temp_settings(folder: Path) -> Settings:
    """A log in `folder`: SQLite file, key home and the benchmark origin."""
    return Settings(db_url=f"sqlite:///{folder / 'bench.db'}", home=folder / "home", origin=ORIGIN)


def disk_bytes(path: Path) -> int:
    """Size of a SQLite database once its WAL is folded back in."""
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-*"))


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 1 else f"{value:.1f}"


def format_table(rows: Iterable[Row]) -> str:
    """The rows as an aligned plain-text table a newcomer can read in a terminal."""
    head = ("figure", "value", "baseline", "ratio", "target", "met?")
    lines = [
        (r.figure, f"{_number(r.value)} {r.unit}",
         f"{_number(r.baseline)} {r.unit} ({r.baseline_name})" if r.baseline is not None else "-",
         "-" if r.ratio is None else f"{r.ratio:.3f}", r.target,
         {True: "yes", False: "NO", None: "-"}[r.met])
        for r in rows
    ]
    widths = [max(len(x) for x in column) for column in zip(head, *lines)]
    out = [" | ".join(x.ljust(w) for x, w in zip(head, widths)), "-+-".join("-" * w for w in widths)]
    out += [" | ".join(x.ljust(w) for x, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def save_results(results: dict[str, dict[str, Any]], path: Path = RESULTS) -> None:
    """Merge each module's figures into the JSON file under its name, keeping every other key."""
    data = json.loads(path.read_text()) if path.exists() else {}
    for name, figures in results.items():
        data[name] = {k: ([r.as_dict() for r in v] if k == "rows" else v) for k, v in figures.items()}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def cli(name: str, run: Callable[..., dict[str, Any]], argv: Sequence[str] | None = None) -> None:
    """`python -m bench.<name> [--quick]`: run one module, save its figures and print its rows."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}")
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI and a first look")
    figures = run(quick=parser.parse_args(argv).quick)
    save_results({name: figures})
    print(format_table(figures["rows"]))
