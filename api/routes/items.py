"""Reads of items: current state and the events with proofs."""

from __future__ import annotations

from fastapi import APIRouter, Path

from api.access import AdmissionDep, CallerDep
from api.deps import LedgerDep
from api.history import item_entries
from api.routes.events import attested_out
from api.schemas import EntryOut, ItemEventsOut, ItemOut, OwnerOut
from ledger import ENFORCEMENT, Item, Party, PersonalRecord, Snapshot

__all__ = ["router", "item_out"]

router = APIRouter(prefix="/v1/items", tags=["items"])
UidPath = Path(min_length=1, max_length=64, description="the item's ULID")


def may_see_owner(caller: Party, item: Item) -> bool:
    """Personal data: investigators, and the police, customs or permit authority of the item's country."""
    if caller.role == "investigator":
        return True
    return caller.role in (*ENFORCEMENT, "permit_authority") and caller.country == item.country


def item_out(item: Item, owner: PersonalRecord | None = None) -> ItemOut:
    data = item.model_dump(include=set(ItemOut.model_fields) - {"owner"})
    if owner is not None:
        data["owner"] = OwnerOut(commitment=owner.commitment, name=owner.name, address=owner.address, erased_at=owner.erased_at)
    return ItemOut(**data)


@router.get("/{uid}", response_model=ItemOut, summary="An item's current state")
def get_item(ledger: LedgerDep, caller: CallerDep, uid: str = UidPath) -> ItemOut:
    """Status, custodian and facts; the owner's clear data only for roles that may read it."""
    item = ledger.item(uid)
    owner = None
    if item.owner_commitment and may_see_owner(caller, item):
        with ledger.reading() as session:
            owner = session.get(PersonalRecord, item.owner_commitment)
    return item_out(item, owner)


@router.get("/{uid}/events", response_model=ItemEventsOut, summary="An item's events, each with its inclusion proof")
def get_item_events(ledger: LedgerDep, admitted: AdmissionDep, uid: str = UidPath) -> ItemEventsOut:
    """Every event for investigators and the item's countries' authorities; a licensed party's own events only."""
    ledger.item(uid)
    with Snapshot(ledger.db) as reads:
        entries = [e for e in item_entries(reads, uid) if admitted.shows(e.actor, e.event)]
    attestation = ledger.attest([e.seq for e in entries])  # checkpoint, proofs and anchor read together
    return ItemEventsOut(
        uid=uid,
        checkpoint=attested_out(attestation),
        events=[EntryOut(seq=e.seq, type=e.type, actor=e.actor, time=e.time, recorded_at=e.recorded_at, imported=e.imported,
                         leaf_hash=e.leaf_hash.hex(),
                         event=e.event, inclusion_proof=[h.hex() for h in attestation.inclusion.get(e.seq, [])]) for e in entries],
    )
