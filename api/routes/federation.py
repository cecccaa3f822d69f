"""Between national logs: the signed peer list anyone may read, and the signed routes peers call.

Every route but `GET /federation/v1/peers` takes `api.federation.PeerDep`: the caller is a peer
log, authenticated by its RFC 9421 signature rather than an API key.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from api.cross_border import server_policy
from api.deps import LedgerDep, run_reads
from api.errors import ApiError
from api.federation import PeerDep, signed_answer
from api.managed import cached_managed_key
from api.routes.items import UidPath
from ledger import FEDERATION_PARTY, HitInvalid, LedgerError, accept_hit, peers_note, status_answer
from scanner.bundle import export_bundle

__all__ = ["router"]

router = APIRouter(prefix="/federation/v1", tags=["federation"])


class HitRefused(ApiError):
    """A hit notice that does not prove the peer's inspection of an item of this log."""

    status = 422
    slug = "federation/hit-refused"


class NoFederationKey(ApiError):
    status = 503
    slug = "federation/no-federation-key"


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


@router.get("/items/{uid}/status", summary="An item's status for a peer, with its proof, as this log's sharing policy allows")
async def item_status(request: Request, ledger: LedgerDep, peer: PeerDep, uid: str = UidPath) -> Response:
    """{uid, origin, status, flagged, as_of, kind, proof, leaf_hash, checkpoint}, plus `facts` and the
    proof's entry bytes when this log shares facts with the peer, and `holder_country` when it shares
    that (`ledger.federation.sharing`); signed by this log as its answer to the peer's request."""
    return signed_answer(request, ledger, await asyncio.to_thread(status_answer, ledger, uid, peer))


@router.get("/bundle", summary="This log's offline trust bundle for a peer, signed by the log key, as this log's sharing policy allows")
async def bundle(request: Request, ledger: LedgerDep, peer: PeerDep) -> Response:
    """{body, signatures}: the trust bundle `tracemark bundle export` writes, for codes pointing to this
    server's public host, without the receiver and detail of held items (`ledger.federation.sharing`),
    the same for every peer; signed by this log as its answer to the peer's request."""
    document = await asyncio.to_thread(export_bundle, ledger, request.app.state.public_host, True)
    return signed_answer(request, ledger, document)


@router.post("/hits", summary="A peer tells this log it scanned one of its items, proving the inspection in its own log")
async def hits(request: Request, ledger: LedgerDep, peer: PeerDep) -> Response:
    """Body `{proof}`: the tlog-proof of the peer's inspection entry. Appends a `hit_notice` signed
    by this log's federation party and answers `{recorded, seq, leaf_hash, duplicate}`, signed."""
    state = request.app.state
    account = cached_managed_key(state.managed_keys, state.settings, FEDERATION_PARTY)
    if account is None:
        raise NoFederationKey(f"this log has no {FEDERATION_PARTY} party with a managed key: `tracemark peers add` registers it")
    try:
        body = json.loads(await request.body())
        receipt = await asyncio.to_thread(accept_hit, ledger, peer, body, server_policy(state.settings), account)
    except (ValueError, HitInvalid) as refused:
        raise HitRefused(f"hit notice refused: {refused}") from refused
    except LedgerError as refused:
        raise HitRefused(f"hit notice refused: {type(refused).__name__}: {refused}") from refused
    return signed_answer(request, ledger, {"recorded": True, "seq": receipt.seq, "leaf_hash": receipt.leaf_hash.hex(),
                                           "duplicate": receipt.duplicate})
