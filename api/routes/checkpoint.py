"""The latest signed checkpoint, as the C2SP signed note itself."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.deps import LedgerDep
from ledger import cosigned_note

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["log"])


@router.get("/checkpoint", response_class=PlainTextResponse, summary="The latest signed checkpoint (C2SP signed note)",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def get_checkpoint(ledger: LedgerDep) -> PlainTextResponse:
    """Signs one first when the log has none yet or has grown, so the note always covers the log;
    the cosignatures its witnesses returned so far follow the log's own signature lines.

    The newest on-chain anchor rides in the `Tracemark-Anchor` header (size, tx, block, time,
    chain id), so the note stays the exact C2SP text that transparency-log tools read.
    """
    checkpoint = ledger.checkpoint()
    anchored = ledger.latest_anchored(checkpoint.size)
    headers = {}
    if anchored is not None:
        headers["Tracemark-Anchor"] = (f"size={anchored.size}; tx={anchored.anchor_tx}; block={anchored.anchor_block}; "
                                       f"time={anchored.anchor_time}; chain-id={anchored.anchor_chain_id}")
    return PlainTextResponse(cosigned_note(ledger, checkpoint), headers=headers)
