"""Raw log entries, paged, so an auditor can mirror the log and audit it.

The entries carry every event's body (case numbers, court orders, licence numbers), so only
admins and investigators read them (`api.access`); anyone checks the log through the signed
checkpoint and the proofs, which carry hashes only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import LedgerDep
from api.schemas import EntriesOut, RawEntryOut
from ledger import GENESIS_PREV, Entry, Ledger

__all__ = ["router", "PAGE"]

router = APIRouter(prefix="/v1", tags=["log"])
PAGE = 1000


@router.get("/entries", response_model=EntriesOut, summary="Raw entries [start, end), at most 1000 per page")
def get_entries(ledger: LedgerDep, start: Annotated[int, Query(ge=0, le=2**62)] = 0,
                end: Annotated[int | None, Query(ge=0, le=2**62)] = None) -> EntriesOut:
    size = ledger.size()
    stop = min(end if end is not None else start + PAGE, start + PAGE, size)
    return EntriesOut(
        start=start, end=max(stop, start), size=size,
        entries=[RawEntryOut(seq=r.seq, prev_hash=prev.hex(), leaf_hash=r.leaf_hash.hex(), event=r.event.decode(),
                             signer=r.signer, signature=r.signature, recorded_at=r.recorded_at, imported=r.imported)
                 for prev, r in _linked(ledger, start, stop)],
        next=stop if stop < size else None,
    )


def _linked(ledger: Ledger, start: int, stop: int) -> list[tuple[bytes, Entry]]:
    """Entries [start, stop), each with its prev hash: the leaf hash stored before it (the table keeps
    no prev hash, so entry start-1 is read too), as the audit takes it."""
    if stop <= start:
        return []
    linked, prev = [], GENESIS_PREV
    for row in ledger.entries(max(start - 1, 0), stop):
        if row.seq >= start:
            linked.append((prev, row))
        prev = row.leaf_hash
    return linked
