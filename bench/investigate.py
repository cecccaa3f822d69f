"""The diversion query on a log of one million events, against a plain indexed lookup of one item.

`python -m bench.investigate [--events 1000000] [--db URL]`

The query (`ledger.investigation.hotspots.investigate`) reads only the `diversion` projection, never the
log, so the benchmark builds what a one-million-event log leaves there: one projection row per
item (five events per item: 200,000 items), 5 % of them diverted, their last legitimate custodians
skewed over 400 parties (a few hotspots hold most items) and 30 countries. The rows (and the
matching `item` rows used by the lookup) are bulk-inserted directly; signing and appending a
million events would measure the append path, which `bench.append` covers. It prints the
median time of the full ranking (hotspots, routes, permits), of a filtered one, and of
`Ledger.item(uid)`, and their ratio; it exits non-zero if the ranking takes a second or more.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from ulid import ULID

from bench._common import Row, format_table, note, save_results
from ledger.config import Settings, init_log
from ledger.domain.custody import DIVERSION_KINDS
from ledger.investigation.hotspots import investigate
from ledger.log.codec import format_time
from ledger.store.ledger import Ledger
from ledger.store.tables import Diversion, Item

__all__ = ["run", "main"]

EVENTS_PER_ITEM = 5
DIVERTED = 0.05
CHUNK = 20_000
COUNTRIES = ["AT", "BE", "BG", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
             "KE", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "TZ", "UG", "ZA"]
START = datetime(2020, 1, 1, tzinfo=timezone.utc)


def fill(ledger: Ledger, items: int, seed: int = 6) -> str:
    """Bulk-insert `items` item and diversion rows; returns one uid to look up."""
    rng = random.Random(seed)
    parties = [f"party-{n:03d}" for n in range(400)]
    weights = [1 / (rank + 1) for rank in range(len(parties))]  # Zipf-like: hotspots stand out
    probe = ""
    with ledger.writing() as session:
        for start in range(0, items, CHUNK):
            item_rows: list[dict[str, Any]] = []
            diversion_rows: list[dict[str, Any]] = []
            for n in range(start, min(start + CHUNK, items)):
                uid = str(ULID.from_int(n + 1))
                probe = probe or uid
                kind = "specimen" if n % 10 == 0 else "firearm"
                country = COUNTRIES[n % len(COUNTRIES)]
                when = format_time(START + timedelta(minutes=n * 7))
                item_rows.append(dict(uid=uid, kind=kind, marker="maker", serial=f"S{n:09d}", facts={"serial": f"S{n:09d}"},
                                      status="active", country=country, marked_seq=n * EVENTS_PER_ITEM,
                                      last_seq=n * EVENTS_PER_ITEM + 4, updated_at=when))
                row: dict[str, Any] = dict(uid=uid, item_kind=kind, chain={}, permit_number=f"P-{n % 997}" if kind == "specimen" else None,
                                           diverted_seq=None, diversion_kind=None, diversion_time=None, last_legit_custodian=None,
                                           origin_country=None, found_country=None, time_to_crime_days=None, seized_seq=None)
                if rng.random() < DIVERTED:
                    seized = rng.random() < 0.6
                    row |= dict(diverted_seq=n * EVENTS_PER_ITEM + 3, diversion_kind=rng.choice(DIVERSION_KINDS), diversion_time=when,
                                last_legit_custodian=rng.choices(parties, weights)[0], origin_country=country,
                                found_country=rng.choice(COUNTRIES), time_to_crime_days=rng.randint(1, 4000) if seized else None,
                                seized_seq=n * EVENTS_PER_ITEM + 4 if seized else None)
                diversion_rows.append(row)
            session.execute(insert(Item), item_rows)
            session.execute(insert(Diversion), diversion_rows)
    return probe


def _median_seconds(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(ledger: Ledger, probe: str) -> dict[str, float]:
    investigate(ledger)  # warm the caches once, as a running service would be
    ranking = _median_seconds(lambda: investigate(ledger), 5)
    filtered = _median_seconds(lambda: investigate(ledger, since="2021-01-01T00:00:00Z", country="DE", kind="firearm"), 5)
    lookup = _median_seconds(lambda: ledger.item(probe), 200)
    return {"ranking_s": ranking, "filtered_s": filtered, "item_lookup_s": lookup, "ranking_over_lookup": ranking / lookup}


def run(quick: bool = False, events: int | None = None, db: str | None = None) -> dict[str, Any]:
    events = events or (50_000 if quick else 1_000_000)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(db_url=db or f"sqlite:///{Path(folder) / 'bench.db'}", home=Path(folder) / "home", origin="bench.tracemark.local/log")
        ledger = init_log(settings)
        began = time.perf_counter()
        probe = fill(ledger, events // EVENTS_PER_ITEM)
        note(f"investigate: inserted {events // EVENTS_PER_ITEM:,} items' projection rows ({events:,} events) in {time.perf_counter() - began:.1f} s")
        results = {"events": events, "database": ledger.db.writer.dialect.name, **measure(ledger, probe)}
        ledger.db.dispose()
    results["rows"] = [Row(f"diversion ranking at {events:,} events", results["ranking_s"] * 1000, "ms", results["item_lookup_s"] * 1000,
                           "one item by uid", "< 1,000 ms", results["ranking_s"] < 1.0)]
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="log size the projection stands for")
    parser.add_argument("--db", help="SQLAlchemy URL of an empty database (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    results = run(events=args.events, db=args.db)
    save_results({"investigate": results})
    print(format_table(results["rows"]))
    if results["ranking_s"] >= 1.0:
        sys.exit(f"the diversion ranking took {results['ranking_s']:.2f} s on {args.events:,} events: over a second")


if __name__ == "__main__":
    main()
