"""The API side of signed requests between logs: who is asking (`PeerDep`), and answering signed (`signed_answer`).

A route under /federation/v1/ that takes `PeerDep` runs only for a request signed (RFC 9421) by a
current peer's log key, named by its origin in `keyid`, within its validity and never seen before;
any other request is refused with 401 problem+json saying why. `signed_answer` signs the route's
JSON answer with this log's key, bound to the request it answers, so the peer can keep it as evidence.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import LedgerDep
from api.errors import Unauthorized
from ledger import (
    HttpRequest,
    HttpResponse,
    Ledger,
    MessageSignatureError,
    Peer,
    StoreError,
    canonical,
    peer_by_origin,
    public_key_of,
    remember_nonce,
    sign_response,
    verify_request,
)

__all__ = ["PeerUnauthorized", "signed_peer", "PeerDep", "signed_answer"]

_SIGNED_REQUEST = "federation_request"


class PeerUnauthorized(Unauthorized):
    """A federation request that is not signed by a current peer as `ledger.federation.signing` requires."""

    slug = "unauthorized/peer-signature"


def _message(request: Request) -> HttpRequest:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():  # every field line; repeated names joined as RFC 9110 says
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return HttpRequest(request.method, str(request.url), headers)


def _check(ledger: Ledger, message: HttpRequest, body: bytes) -> Peer:
    found: dict[str, Peer] = {}

    def key_of(keyid: str) -> Any:
        peer = peer_by_origin(ledger, keyid)
        if peer is None:
            return None
        found["peer"] = peer
        return public_key_of(peer.vkey)

    signed = verify_request(message, body, key_of)
    remember_nonce(ledger, signed)
    return found["peer"]


async def signed_peer(request: Request, ledger: LedgerDep) -> Peer:
    """The current peer that signed this request; 401 problem+json otherwise."""
    body = await request.body()
    message = _message(request)
    try:
        peer = await run_in_threadpool(_check, ledger, message, body)
    except MessageSignatureError as refused:
        raise PeerUnauthorized(f"not a signed request from a current peer: {refused.detail}") from refused
    setattr(request.state, _SIGNED_REQUEST, message)
    return peer


PeerDep = Annotated[Peer, Depends(signed_peer)]


def signed_answer(request: Request, ledger: Ledger, content: Any, status: int = 200) -> Response:
    """`content` as RFC 8785 JSON, signed by this log as its answer to the peer's signed `request`."""
    if ledger.log_key is None:
        raise StoreError("this server does not hold the log key: it cannot sign its answers to peers")
    body = canonical(content)
    answer = HttpResponse(status, {"Content-Type": "application/json"}, getattr(request.state, _SIGNED_REQUEST))
    sign_response(answer, body, ledger.log_key, ledger.origin)
    return Response(body, status_code=status, headers=answer.headers)
