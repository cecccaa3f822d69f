"""This server as a witness of other logs (C2SP tlog-witness): add-checkpoint and the monitoring read."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from api.deps import LedgerDep, SettingsDep
from ledger import Ledger, NotFound, Settings, SizeConflict, Witness, WitnessRefusal

__all__ = ["router", "witness_of"]

router = APIRouter(prefix="/witness", tags=["witness"])
SIZE_TYPE = "text/x.tlog.size"


def witness_of(request: Request, ledger: Ledger, settings: Settings) -> Witness:
    """The app's witness, made on first use (its keys are read, or made, beside the log key)."""
    witness = getattr(request.app.state, "witness", None)
    if witness is None:
        witness = request.app.state.witness = Witness(ledger.db, settings.witness_keys())
    return witness


@router.post("/add-checkpoint", response_class=PlainTextResponse, summary="Cosign a checkpoint that extends the one cosigned before",
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
                        409: {"content": {SIZE_TYPE: {"schema": {"type": "string"}}}}})
async def add_checkpoint(request: Request, ledger: LedgerDep, settings: SettingsDep) -> PlainTextResponse:
    """The body is `old <size>`, consistency proof lines, an empty line, then the signed checkpoint;
    the answer is the witness's cosignature lines (Ed25519 and ML-DSA-44), or the status tlog-witness
    fixes for each refusal, its reason in the body (409: the size this witness last cosigned)."""
    body = await request.body()
    witness = witness_of(request, ledger, settings)
    try:
        lines = await run_in_threadpool(witness.add_checkpoint, body)
    except SizeConflict as refusal:
        # exactly text/x.tlog.size: a media_type would gain "; charset=utf-8"
        return Response(f"{refusal.size}\n", status_code=409, headers={"Content-Type": SIZE_TYPE})
    except WitnessRefusal as refusal:
        return PlainTextResponse(refusal.detail + "\n", status_code=refusal.status)
    return PlainTextResponse(lines)


@router.get("/{origin_hash}/checkpoint", response_class=PlainTextResponse, summary="The latest checkpoint this witness cosigned for a log")
def latest_checkpoint(origin_hash: str, request: Request, ledger: LedgerDep, settings: SettingsDep) -> PlainTextResponse:
    """`origin_hash` is the lower-case hex SHA-256 of the log's origin; 404 if nothing was cosigned for it."""
    try:
        return PlainTextResponse(witness_of(request, ledger, settings).latest(origin_hash))
    except NotFound as missing:
        return PlainTextResponse(f"{missing}\n", status_code=404)
