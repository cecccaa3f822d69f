"""Trace requests between logs: an investigator asks a peer log for an item's custody chain, the
peer's investigator grants or refuses it (`ledger.federation.trace_requests`).

`/v1/trace-requests...` serve this log's own users (their API key; the server signs their events
with their managed key, as the investigators' pages do); `/federation/v1/trace-requests` and
`/federation/v1/trace-answers` serve peer logs, signed both ways (`api.federation`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from api.access import CallerDep
from api.deps import LedgerDep, SettingsDep
from api.errors import Forbidden
from api.federation import PeerDep, signed_answer
from api.managed import cached_managed_key
from ledger import (
    FEDERATION_PARTY,
    Ledger,
    LedgerError,
    LocalAccount,
    Party,
    PeerClient,
    Settings,
    StoreError,
    answer_of,
    ask_peer,
    decide,
    federation_account,
    fetch_answer,
    list_peer_traces,
    peer_trace,
    positive_duration,
    record_answer,
    record_arrival,
    send_request,
)

__all__ = ["router", "federation_router", "cached_desk", "SeqPath", "TraceRequestIn", "RefusalIn", "ask", "send_now", "fetch_now", "decide_as"]

router = APIRouter(prefix="/v1/trace-requests", tags=["trace requests"])
federation_router = APIRouter(prefix="/federation/v1", tags=["federation"])
SeqPath = Path(ge=0, le=2**62, description="the request's entry in this log (sent: its peer_trace_request; received: its arrival)")


class TraceRequestIn(BaseModel):
    peer: str = Field(description="this log's name for the peer asked")
    item: str = Field(min_length=26, max_length=26, description="the item's ULID in the peer's log")
    reason: str = Field(min_length=1, max_length=500)
    deadline: Optional[timedelta] = Field(default=None, description="ISO 8601 duration until the answer is due (default $TRACEMARK_TRACE_DEADLINE, PT24H)")

    @field_validator("deadline", mode="before")
    @classmethod
    def _positive_duration(cls, value: object) -> timedelta:
        """An ISO 8601 duration such as PT36H or P2D, more than nothing (not a number of seconds)."""
        if not isinstance(value, str):
            raise ValueError("the deadline is an ISO 8601 duration such as PT36H")
        try:
            return positive_duration("deadline", value)
        except StoreError as exc:
            raise ValueError(str(exc)) from exc


class RefusalIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def _account(request: Request, settings: Settings, caller: Party) -> LocalAccount:
    account = cached_managed_key(request.app.state.managed_keys, settings, caller.id)
    if account is None:
        raise Forbidden(f"{caller.id} has no managed key: use `tracemark trace-request` with your own key")
    return account


def desk(request: Request, settings: Settings) -> LocalAccount:
    """The federation desk's key, decrypted once per process (`tracemark serve` warms it at start)."""
    return cached_desk(request.app.state.managed_keys, settings)


def cached_desk(cache: dict[str, LocalAccount | None], settings: Settings) -> LocalAccount:
    if cache.get(FEDERATION_PARTY) is None:
        cache[FEDERATION_PARTY] = federation_account(settings)
    account = cache[FEDERATION_PARTY]
    assert account is not None
    return account


def _client(ledger: Ledger) -> PeerClient:
    return PeerClient.for_log(ledger.log_key, ledger.origin)


def send_now(ledger: Ledger, seq: int) -> dict[str, Any]:
    """Post the request to its peer; the request stays logged (and can be sent again) when that fails."""
    peer_trace(ledger, seq)  # 404 for no such request
    client = _client(ledger)
    try:
        send_request(ledger, client, seq)
        error = None
    except LedgerError as exc:
        error = str(exc)
    finally:
        client.close()
    return peer_trace(ledger, seq).to_json() | {"send_error": error}


@router.get("", summary="Trace requests between this log and its peers, both ways, with their state")
def list_requests(ledger: LedgerDep, side: Optional[str] = Query(None, pattern="^(sent|received)$")) -> list[dict[str, Any]]:
    return [found.to_json() for found in list_peer_traces(ledger, side)]


def ask(request: Request, ledger: Ledger, settings: Settings, caller: Party, body: TraceRequestIn) -> dict[str, Any]:
    """Log the request (signed with the caller's managed key), then post it to the peer signed by this log."""
    account = _account(request, settings, caller)
    return send_now(ledger, ask_peer(ledger, account, body.peer, body.item, body.reason, body.deadline))


def fetch_now(ledger: Ledger, settings: Settings, seq: int) -> dict[str, Any]:
    """Ask the peer for its answer to request `seq` and log it once it verifies."""
    peer_trace(ledger, seq)  # 404 for no such request
    client = _client(ledger)
    try:
        fetch_answer(ledger, settings, client, seq)
    finally:
        client.close()
    return peer_trace(ledger, seq).to_json()


def decide_as(request: Request, ledger: Ledger, settings: Settings, caller: Party, seq: int, grant: bool, reason: str | None = None) -> dict[str, Any]:
    """The caller's decision on a peer's request, signed with its managed key."""
    peer_trace(ledger, seq)  # 404 for no such request
    decide(ledger, _account(request, settings, caller), seq, grant, reason)
    return peer_trace(ledger, seq).to_json()


@router.post("", status_code=201, summary="Ask a peer log for the custody chain of one of its items")
async def send(request: Request, body: TraceRequestIn, ledger: LedgerDep, settings: SettingsDep, caller: CallerDep) -> dict[str, Any]:
    """Logs the request (signed with the caller's managed key), then posts it to the peer signed by this log."""
    return await run_in_threadpool(ask, request, ledger, settings, caller, body)


@router.get("/{seq}", summary="One trace request between logs, with the answer when there is one")
def get_request(ledger: LedgerDep, seq: int = SeqPath) -> dict[str, Any]:
    return peer_trace(ledger, seq).to_json()


@router.post("/{seq}/send", summary="Post a logged request to its peer again (when it did not arrive)")
async def resend(ledger: LedgerDep, seq: int = SeqPath) -> dict[str, Any]:
    return await run_in_threadpool(send_now, ledger, seq)


@router.post("/{seq}/fetch", summary="Ask the peer for its answer to a request (when the delivery did not come)")
async def fetch(ledger: LedgerDep, settings: SettingsDep, seq: int = SeqPath) -> dict[str, Any]:
    return await run_in_threadpool(fetch_now, ledger, settings, seq)


@router.post("/{seq}/grant", summary="Grant a peer's request: its custody chain, as this log shares with that peer, goes back")
async def grant(request: Request, ledger: LedgerDep, settings: SettingsDep, caller: CallerDep, seq: int = SeqPath) -> dict[str, Any]:
    return await run_in_threadpool(decide_as, request, ledger, settings, caller, seq, True)


@router.post("/{seq}/refuse", summary="Refuse a peer's request, saying why")
async def refuse(request: Request, body: RefusalIn, ledger: LedgerDep, settings: SettingsDep, caller: CallerDep,
                 seq: int = SeqPath) -> dict[str, Any]:
    return await run_in_threadpool(decide_as, request, ledger, settings, caller, seq, False, body.reason)


# ---------------------------------------------------------------- between logs


@federation_router.post("/trace-requests", summary="A peer's investigator asks this log for an item's custody chain (signed)")
async def arrive(request: Request, ledger: LedgerDep, settings: SettingsDep, peer: PeerDep) -> Response:
    """Logs the arrival (signed by this log's federation desk); answers `{arrival_seq, state, deadline}` signed."""
    account = await run_in_threadpool(desk, request, settings)
    arrival = await run_in_threadpool(record_arrival, ledger, account, peer, await request.json())
    return signed_answer(request, ledger, {"arrival_seq": arrival.seq, "state": arrival.state, "deadline": arrival.deadline}, 201)


@federation_router.get("/trace-requests/{seq}", summary="The state of a peer's request here, and the answer once decided (signed)")
async def answer(request: Request, ledger: LedgerDep, peer: PeerDep, seq: int = SeqPath) -> Response:
    return signed_answer(request, ledger, await run_in_threadpool(answer_of, ledger, peer, seq))


@federation_router.post("/trace-answers", summary="A peer answers a trace request of this log (signed)")
async def answered(request: Request, ledger: LedgerDep, settings: SettingsDep, peer: PeerDep) -> Response:
    """Verifies the answer against the peer's checkpoint and logs it (the federation desk's); refused with 422 otherwise."""
    headers = {name: value for name, value in request.headers.items() if name in ("signature-input", "signature", "content-digest")}
    account = await run_in_threadpool(desk, request, settings)
    seq = await run_in_threadpool(record_answer, ledger, settings, account, peer, await request.body(), headers)
    return signed_answer(request, ledger, {"answer_seq": seq})
