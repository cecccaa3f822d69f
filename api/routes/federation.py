"""Between national logs: the signed peer list anyone may read, and the signed routes peers call.

Every route but `GET /federation/v1/peers` takes `api.federation.PeerDep`: the caller is a peer
log, authenticated by its RFC 9421 signature rather than an API key.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from api.deps import LedgerDep, run_reads
from api.federation import PeerDep, signed_answer
from ledger import peers_note

__all__ = ["router"]

router = APIRouter(prefix="/federation/v1", tags=["federation"])


@router.get("/peers", response_class=PlainTextResponse, summary="This log's peers, as a note signed by the log key")
async def peers(ledger: LedgerDep) -> PlainTextResponse:
    """A C2SP signed note: `<origin> peers`, then one RFC 8785 JSON line per peer {name, origin, vkey, url,
    country}; it verifies with this log's verifier key."""
    return PlainTextResponse(await run_reads(ledger, peers_note, ledger))


@router.get("/hello", operation_id="federation_hello", summary="A signed greeting: proves a peer's signed request and this log's signed answer")
@router.post("/hello", operation_id="federation_hello_with_body", summary="A signed greeting with a body: proves its Content-Digest")
async def hello(request: Request, ledger: LedgerDep, peer: PeerDep) -> Response:
    """Answers `{origin, peer}`: this log's origin and the caller's name here (a POST's body, signed
    with the request, is checked and otherwise ignored)."""
    return signed_answer(request, ledger, {"origin": ledger.origin, "peer": peer.name})
