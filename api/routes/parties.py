"""Reads of parties: role, licence and keys."""

from __future__ import annotations

from fastapi import APIRouter, Path
from sqlmodel import select

from api.access import CallerDep
from api.deps import LedgerDep
from api.schemas import PartyKeyOut, PartyOut
from ledger import PartyKey

__all__ = ["router"]

router = APIRouter(prefix="/v1/parties", tags=["parties"])


@router.get("/{party_id}", response_model=PartyOut, summary="A party, its licence and its keys")
def get_party(ledger: LedgerDep, caller: CallerDep, party_id: str = Path(min_length=1, max_length=64)) -> PartyOut:
    party = ledger.party(party_id)
    with ledger.reading() as session:
        keys = list(session.exec(select(PartyKey).where(PartyKey.party_id == party_id).order_by(PartyKey.added_seq)))
    return PartyOut(**party.model_dump(), keys=[PartyKeyOut(**k.model_dump(exclude={"party_id", "revoked_seq"})) for k in keys])
