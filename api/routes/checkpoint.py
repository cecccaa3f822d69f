"""The latest signed checkpoint, as the C2SP signed note itself."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.deps import LedgerDep

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["log"])


@router.get("/checkpoint", response_class=PlainTextResponse, summary="The latest signed checkpoint (C2SP signed note)",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def get_checkpoint(ledger: LedgerDep) -> PlainTextResponse:
    """Signs one first when the log has none yet or has grown, so the note always covers the log."""
    return PlainTextResponse(ledger.checkpoint().note)
