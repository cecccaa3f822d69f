"""Merkle proofs, public so anyone can check the log without an account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import LedgerDep
from api.schemas import ConsistencyOut, InclusionOut
from ledger import NotFound

__all__ = ["router"]

router = APIRouter(prefix="/v1/proofs", tags=["proofs"])
Size = Annotated[int, Query(ge=0, le=2**62)]


@router.get("/inclusion", response_model=InclusionOut, summary="RFC 9162 inclusion proof of entry `seq` in the tree of `size`")
def inclusion(ledger: LedgerDep, seq: Size, size: Size) -> InclusionOut:
    path = ledger.inclusion_proof(seq, size)
    entries = ledger.entries(seq, seq + 1)
    if not entries:
        raise NotFound("entry", seq)
    return InclusionOut(seq=seq, size=size, leaf_hash=entries[0].leaf_hash.hex(), root=ledger.root(size).hex(),
                        proof=[h.hex() for h in path])


@router.get("/consistency", response_model=ConsistencyOut, summary="RFC 9162 consistency proof between two tree sizes")
def consistency(ledger: LedgerDep, old: Size, new: Size) -> ConsistencyOut:
    path = ledger.consistency_proof(old, new)
    return ConsistencyOut(old=old, new=new, old_root=ledger.root(old).hex(), new_root=ledger.root(new).hex(),
                          proof=[h.hex() for h in path])
