"""The current state is a projection of the log: recompute it from the entries alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, inspect
from sqlmodel import Session, col, select

from ledger.domain import events as ev
from ledger.errors import EventInvalid
from ledger.store.ledger import Ledger
from ledger.store.narrowing import table_of
from ledger.store.projection import apply
from ledger.store.tables import PROJECTION_TABLES, Entry
from ledger.store.txview import TxView

__all__ = ["rebuild", "replay", "snapshot"]

CHUNK = 2000


def rebuild(ledger: Ledger, progress: Callable[[int, int], None] | None = None) -> int:
    """Replace every projection row by a replay of the log; returns the number of entries replayed."""
    with ledger.writing() as session:
        return replay(session, ledger.size(), progress)


def replay(session: Session, total: int, progress: Callable[[int, int], None] | None = None, skip_unreadable: bool = False) -> int:
    """`rebuild` within the caller's transaction (a migration's, when the projection's meaning changes).

    With `skip_unreadable`, an entry whose event cannot be read is left out (a migration must not stop
    at a damaged entry: the audit names it) instead of stopping the replay.
    """
    present = set(inspect(session.connection()).get_table_names())
    for table in reversed(PROJECTION_TABLES):
        if table_of(table).name in present:  # a migration replays before later revisions made their tables (and their events)
            session.execute(delete(table))
    view = TxView(session)
    done, start = 0, 0
    while True:
        rows = list(session.exec(select(Entry).where(Entry.seq >= start).order_by(col(Entry.seq)).limit(CHUNK)))
        if not rows:
            break
        for entry in rows:
            try:
                event = ev.parse_event(entry.event)
            except EventInvalid:
                if not skip_unreadable:
                    raise
                continue
            apply(event, entry.seq, view)
        view.flush()
        done, start = done + len(rows), rows[-1].seq + 1
        if progress is not None:
            progress(done, total)
    return done


def snapshot(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every projection row as plain data, to compare two states."""
    out = {}
    for table in PROJECTION_TABLES:
        rows = session.exec(select(table)).all()
        out[table_of(table).name] = sorted((row.model_dump() for row in rows), key=repr)
    return out
