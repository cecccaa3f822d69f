"""Writes: signed event envelopes, one or a batch, answered with receipts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from api.access import CallerDep
from api.deps import LedgerDep
from api.errors import Forbidden
from api.schemas import EXAMPLE_ENVELOPE, AnchorOut, BatchOut, BatchRequest, CheckpointOut, ReceiptOut
from ledger import Attestation, Envelope, Party, Receipt, format_time, parse_checkpoint

__all__ = ["router", "receipts_out", "attested_out"]

router = APIRouter(prefix="/v1", tags=["events"])


def attested_out(attestation: Attestation) -> CheckpointOut:
    """A checkpoint with the newest on-chain anchor it extends and the consistency proof down to it,
    so a receipt can be checked down to the chain."""
    row, anchored = attestation.checkpoint, attestation.anchored
    anchor = None
    if anchored is not None:
        anchor = AnchorOut(size=anchored.size, root=anchored.root.hex(), tx=anchored.anchor_tx, block=anchored.anchor_block,
                           time=anchored.anchor_time, chain_id=anchored.anchor_chain_id, index=anchored.anchor_index,
                           consistency_proof=[h.hex() for h in attestation.consistency])
    signed_time = parse_checkpoint(row.note).signed_time
    return CheckpointOut(size=row.size, root=row.root.hex(), note=row.note, anchored=anchor,
                         signed_at=None if signed_time is None else format_time(signed_time))


def receipts_out(receipts: list[Receipt], attestation: Attestation) -> list[ReceiptOut]:
    """Receipts with inclusion proofs against one fresh checkpoint."""
    cp = attested_out(attestation)
    return [
        ReceiptOut(seq=r.seq, leaf_hash=r.leaf_hash.hex(), event_hash=r.event_hash.hex(), duplicate=r.duplicate,
                   inclusion_proof=[h.hex() for h in attestation.inclusion[r.seq]], checkpoint=cp)
        for r in receipts
    ]


def _may_submit(caller: Party, envelopes: list[Envelope]) -> None:
    """A party posts its own events; an admin may relay anyone's (the signatures still decide)."""
    if caller.role == "admin":
        return
    for index, envelope in enumerate(envelopes):
        actor = envelope.event.get("actor")
        if actor != caller.id:
            raise Forbidden(f"event {index} is by {actor!r}; the API key of {caller.id} posts only its own events")


@router.post("/events", status_code=201, response_model=ReceiptOut, summary="Append one signed event")
async def post_event(
    envelope: Annotated[Envelope, Body(openapi_examples={"receive": {"summary": "a dealer receives a firearm", "value": EXAMPLE_ENVELOPE}})],
    ledger: LedgerDep,
    caller: CallerDep,
) -> ReceiptOut:
    """Append the event; resending the same signed event returns its original receipt (`duplicate`)."""
    _may_submit(caller, [envelope])
    receipt, attestation = await ledger.append_attested_async(envelope)
    return receipts_out([receipt], attestation)[0]


@router.post("/events:batch", status_code=201, response_model=BatchOut, summary="Append up to 10,000 signed events, all or nothing")
def post_batch(batch: BatchRequest, ledger: LedgerDep, caller: CallerDep) -> BatchOut:
    """One group commit: a refusal names the `index` of the first refused event and nothing is appended."""
    _may_submit(caller, batch.envelopes)
    receipts = ledger.append_batch(batch.envelopes, checkpoint=True)
    return BatchOut(receipts=receipts_out(receipts, ledger.attest(sorted({r.seq for r in receipts}))))
