"""Raw log entries, paged, so anyone can mirror the log and audit it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import LedgerDep
from api.schemas import EntriesOut, RawEntryOut

__all__ = ["router", "PAGE"]

router = APIRouter(prefix="/v1", tags=["log"])
PAGE = 1000


@router.get("/entries", response_model=EntriesOut, summary="Raw entries [start, end), at most 1000 per page")
def get_entries(ledger: LedgerDep, start: Annotated[int, Query(ge=0, le=2**62)] = 0,
                end: Annotated[int | None, Query(ge=0, le=2**62)] = None) -> EntriesOut:
    size = ledger.size()
    stop = min(end if end is not None else start + PAGE, start + PAGE, size)
    rows = ledger.entries(start, stop) if stop > start else []
    return EntriesOut(
        start=start, end=max(stop, start), size=size,
        entries=[RawEntryOut(seq=r.seq, prev_hash=r.prev_hash.hex(), leaf_hash=r.leaf_hash.hex(), event=r.event.decode(),
                             signer=r.signer, signature=r.signature, recorded_at=r.recorded_at) for r in rows],
        next=stop if stop < size else None,
    )
