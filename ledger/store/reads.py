"""Reads every part of the ledger shares: a read session, plain SQL, and the log's head."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session

from ledger.log.entry import GENESIS_PREV
from ledger.store.db import Database
from ledger.store.snapshot import Snapshot

__all__ = ["Reads", "raw", "read_head", "reading"]

Reads = Session | Snapshot
"""Where committed rows are read: an ORM session, or a request's snapshot."""

_HEAD = "SELECT seq, leaf_hash FROM entry ORDER BY seq DESC LIMIT 1"  # to the driver as it is: once a group, an ORM statement cost 10x the read


@contextmanager
def reading(db: Database) -> Iterator[Session]:
    """A session on the reader engine, its rows usable after it ends."""
    with Session(db.reader, expire_on_commit=False) as session:
        yield session


def raw(reads: Reads, sql: str) -> list[Any]:
    """The driver's rows of `sql` (values written into it), through a session's connection or a snapshot's."""
    if isinstance(reads, Snapshot):
        return reads.raw(sql)
    return list(reads.connection().exec_driver_sql(sql).fetchall())


def read_head(reads: Reads) -> tuple[int, bytes]:
    """The log's size and last leaf hash (read on every append and proof, so plain SQL)."""
    rows = raw(reads, _HEAD)
    return (0, GENESIS_PREV) if not rows else (rows[0][0] + 1, rows[0][1])
