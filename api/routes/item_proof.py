"""An item's offline proof (C2SP tlog-proof): its newest entry the caller may read, with the cosigned checkpoint."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.access import AdmissionDep
from api.deps import LedgerDep
from api.routes.items import UidPath
from ledger import SUFFIX, item_proof

__all__ = ["router"]

router = APIRouter(prefix="/v1/items", tags=["items"])


@router.get("/{uid}/proof", response_class=PlainTextResponse,
            summary="An offline proof (c2sp.org/tlog-proof@v1) of the item's newest entry",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def get_item_proof(ledger: LedgerDep, admitted: AdmissionDep, uid: str = UidPath) -> PlainTextResponse:
    """The proof's `extra` line carries the entry's bytes (its event body), so it is read as the item's
    events are: the newest entry the caller may read, in the checkpoint its witnesses cosigned most.
    `tracemark verify-proof FILE --policy POLICY` checks it with no network."""
    proof = item_proof(ledger, uid, admitted.shows)
    return PlainTextResponse(proof.text(), headers={"Content-Disposition": f'attachment; filename="{uid}{SUFFIX}"'})
