"""Append throughput: signed events per second in batches of 1,000, on SQLite and on PostgreSQL.

The same run measures the machine's bare limit for the same rows (`bench._log.bare_rows`:
SHA-256 of event and entry, secp256k1 recovery on coincurve) inserted with the bare driver:
sqlite3 with the ledger's durability settings (WAL, synchronous=FULL), and psycopg into a
plain table. The ledger's batches and the baseline's are taken in turns. PostgreSQL runs in a
fresh schema of 127.0.0.1:5432/test (`BENCH_PG` overrides the URL), dropped afterwards. Events
are signed before timing.

    python -m bench.append [--quick]
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from bench._common import ORIGIN, Row, cli, note, temp_settings, timed
from bench._log import ENTRY_COLUMNS, bare_rows, bench_log, canonical, signed_marks
from ledger.config import Settings
from ledger.log.keys import LocalAccount, new_account

__all__ = ["run", "PG_URL"]

PG_URL = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
SIZES = {False: {"single": 1000, "batched": 20_000}, True: {"single": 200, "batched": 3000}}
BATCH = 1000
_PLACEHOLDERS = {"sqlite": "?", "pg": "%s"}
_PG_TYPES = {"leaf_hash": "BYTEA", "event": "BYTEA", "event_key": "BIGINT"}  # the others as text


def _paired_rates(settings: Settings, envelopes: Sequence[dict[str, Any]], maker: LocalAccount, batch: int,
                  bare: AbstractContextManager[Callable[[list[tuple[Any, ...]]], None]]) -> tuple[float, float]:
    """Events/s of the ledger and of the bare baseline on the same events, `batch` per transaction.

    Their batches are taken in turns, so a slow spell of the shared machine falls on both alike
    instead of on whichever ran during it.
    """
    ledger = bench_log(settings, maker)
    rows = bare_rows(canonical(envelopes), batch)  # hashed and recovered lazily: inside the baseline's timing
    ours = theirs = 0.0
    try:
        with bare as insert:
            for start in range(0, len(envelopes), batch):
                ours += timed(lambda: ledger.append_batch(envelopes[start : start + batch]))
                theirs += timed(lambda: insert(next(rows)))
        if ledger.size() != len(envelopes) + 2:
            raise AssertionError(f"log holds {ledger.size()} entries after appending {len(envelopes)} events")
    finally:
        ledger.db.dispose()
    return len(envelopes) / ours, len(envelopes) / theirs


def _columns(style: str) -> str:
    return f"({', '.join(ENTRY_COLUMNS)}) VALUES ({', '.join(_PLACEHOLDERS[style] for _ in ENTRY_COLUMNS)})"


@contextmanager
def _sqlite_bare(path: Path) -> Iterator[Callable[[list[tuple[Any, ...]]], None]]:
    """Insert rows into a plain table with sqlite3 and the ledger's durability settings (WAL, synchronous=FULL)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute(f"CREATE TABLE entry (seq INTEGER PRIMARY KEY, {', '.join(ENTRY_COLUMNS[1:])})")

    def insert(rows: list[tuple[Any, ...]]) -> None:
        con.execute("BEGIN IMMEDIATE")
        con.executemany(f"INSERT INTO entry {_columns('sqlite')}", rows)
        con.execute("COMMIT")

    try:
        yield insert
    finally:
        con.close()


@contextmanager
def pg_schema(url: str = PG_URL) -> Iterator[str]:
    """A fresh PostgreSQL schema; yields a URL whose connections use it, and drops it afterwards."""
    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def _pg_bare(url: str) -> Iterator[Callable[[list[tuple[Any, ...]]], None]]:
    """Insert rows into a plain table with psycopg, one transaction per call."""
    with psycopg.connect(url) as con:
        con.execute(f"CREATE TABLE bare_entry (seq BIGINT PRIMARY KEY, {', '.join(c + ' ' + _PG_TYPES.get(c, 'TEXT') for c in ENTRY_COLUMNS[1:])})")
        con.commit()

        def insert(rows: list[tuple[Any, ...]]) -> None:
            with con.cursor() as cursor:
                cursor.executemany(f"INSERT INTO bare_entry {_columns('pg')}", rows)
            con.commit()

        yield insert


def run(quick: bool = False) -> dict[str, Any]:
    """Events/second for batches of 1,000 on SQLite and PostgreSQL, and one per transaction on SQLite."""
    sizes = SIZES[quick]
    maker = new_account()
    figures: dict[str, Any] = {"quick": quick, "events": sizes}
    batched = signed_marks(maker, sizes["batched"], "BATCHED")
    single = signed_marks(maker, sizes["single"], "SINGLE")
    note(f"append: {len(batched):,} events in batches of {BATCH} and {len(single):,} one at a time, SQLite and PostgreSQL")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sqlite_1000 = _paired_rates(temp_settings(folder / "b"), batched, maker, BATCH, _sqlite_bare(folder / "bare-b.db"))
        sqlite_1 = _paired_rates(temp_settings(folder / "s"), single, maker, 1, _sqlite_bare(folder / "bare-s.db"))
        with pg_schema() as url:
            pg = _paired_rates(Settings(db_url=url, home=folder / "pg", origin=ORIGIN), batched, maker, BATCH, _pg_bare(url))
    figures |= {"sqlite_batch_1000": sqlite_1000, "sqlite_batch_1": sqlite_1, "postgres_batch_1000": pg}
    figures["rows"] = [
        Row("append, batches of 1,000, SQLite", sqlite_1000[0], "ev/s", sqlite_1000[1], "hash+recover+sqlite3 insert",
            ">= 5,000/s, >= 0.5x", sqlite_1000[0] >= 5000 and sqlite_1000[0] >= 0.5 * sqlite_1000[1]),
        Row("append, one per transaction, SQLite", sqlite_1[0], "ev/s", sqlite_1[1], "hash+recover+sqlite3 insert"),
        Row("append, batches of 1,000, PostgreSQL", pg[0], "ev/s", pg[1], "hash+recover+psycopg insert", ">= 2,000/s", pg[0] >= 2000),
    ]
    return figures


if __name__ == "__main__":
    cli("append", run)
