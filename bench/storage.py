"""Storage per event of a log that lives a lifecycle: items marked, sold on and received.

`bench.signed_log` measures the worst case, a log of markings only (each one makes an item row
and its custody row). A registry's log mostly records what happens to items afterwards, so
this module builds the demo data set (`ledger.demo`: per item a marking, a transfer and a
receipt, plus permits, seizures and the rest) and reports its bytes on disk per event, and
which tables hold them (SQLite's `dbstat`).

    python -m bench.storage [--quick]
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from bench._common import Row, cli, disk_bytes, note, temp_settings
from ledger.config import init_log
from ledger.demo import run_demo

__all__ = ["run", "ITEMS"]

ITEMS = {False: 20_000, True: 2_000}
LIMIT = 1024


def _by_table(path: Path, events: int) -> dict[str, float]:
    """Bytes per event each table and index takes, largest first (the ones over 5 B)."""
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    return {name: round(size / events, 1) for name, size in rows if size / events > 5}


def run(quick: bool = False) -> dict[str, Any]:
    """Bytes per event of the demo lifecycle log, in all and by table."""
    items = ITEMS[quick]
    note(f"storage: the demo lifecycle log with {items:,} items")
    with tempfile.TemporaryDirectory() as tmp:
        settings = temp_settings(Path(tmp))
        ledger = init_log(settings)
        run_demo(ledger, keys_dir=settings.keys_dir, items=items)
        events = ledger.size()
        ledger.db.dispose()
        path = Path(tmp) / "bench.db"
        per_event = disk_bytes(path) / events
        tables = _by_table(path, events)
    return {
        "quick": quick, "items": items, "events": events, "bytes_per_event": per_event, "by_table": tables,
        "rows": [Row(f"storage per event, lifecycle mix ({events:,} events)", per_event, "B", target=f"<= {LIMIT:,} B", met=per_event <= LIMIT)],
    }


if __name__ == "__main__":
    cli("storage", run)
