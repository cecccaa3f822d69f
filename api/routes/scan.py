"""The border scan: a verdict in milliseconds, recorded as the scanning party's `inspect` event."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Request, Response

from api.access import admit
from api.cross_border import look_up_peer, send_hit
from api.deps import run_reads
from api.history import custody_chain, inclusion_out
from api.judging import Judgement, MarkingVerifier, Scan, judge
from api.lean import answer, documented_body, read_body
from api.managed import cached_managed_key
from api.routes.events import attested_out
from api.routes.items import item_out
from api.routes.permits import permit_out
from api.schemas import Custodian, ForeignOut, Reason, Recorded, ScanOut, ScanProof, ScanRequest
from ledger import (
    Attestation,
    Envelope,
    ForeignStatus,
    Ledger,
    LedgerError,
    LocalAccount,
    Lookup,
    Party,
    Peer,
    Settings,
    Snapshot,
    format_time,
    peer_by_key_id,
    sign_event,
    status_findings,
)
from ledger import verdict as v
from scanner.logs import LocalLog

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["scan"])


@router.post("/scan", response_model=ScanOut, summary="Scan a marking: verdict, reasons, custody, permit, proofs",
             openapi_extra=documented_body(ScanRequest))
async def scan(request: Request) -> Response:
    """Judge the item, record the inspection (server-signed only for a managed key), answer with proofs.

    Only customs and police scan. The body is a `ScanRequest`; the answer a `ScanOut`.
    """
    caller = admit(request).caller
    assert caller is not None  # a key is needed: `api.access.ACCESS`
    body = await read_body(request, ScanRequest)
    return answer(await _scan(request, caller, body))


async def _scan(request: Request, caller: Party, body: ScanRequest) -> ScanOut:
    """The scan, on the hot path of every border post, so its plumbing is `api.lean`'s. The reads run
    where they cost least (`run_reads`); the append is awaited, so no thread waits on the group commit."""
    ledger: Ledger = request.app.state.ledger
    moment = ledger.clock()
    declared = body.declared
    code, maker = (body.code, None) if body.code is not None else (body.serial or "", body.maker)
    scanned = Scan(code, body.country, body.location, body.direction, declared.serial, declared.species,
                   declared.quantity, declared.destination, declared.permit, maker)
    state = request.app.state
    judgement, custody = await run_reads(ledger, _judge, ledger, scanned, moment, state.marking_verifier, state.local_log,
                                         state.public_host)
    if judgement.foreign is not None and judgement.foreign.key_id is not None and judgement.uid is not None:
        peer = await run_reads(ledger, peer_by_key_id, ledger, judgement.foreign.key_id)
        if peer is not None:
            return await _across_the_border(request, caller, body, peer, judgement.uid)
    if judgement.item is None:
        return _answer(judgement, None, Recorded(recorded=False, detail="nothing to record: no item was identified"), None)
    history = [e.seq for e in judgement.entries]
    inspection, attestation = await _record(ledger, request, caller, body, judgement.item.uid, judgement.verdict,
                                            format_time(moment), history)
    if attestation is None:  # nothing was recorded: the history alone is proved
        attestation = await run_reads(ledger, ledger.attest, history)
    return _answer(judgement, ScanProof(checkpoint=attested_out(attestation), entries=inclusion_out(attestation)), inspection, custody)


def _judge(ledger: Ledger, scanned: Scan, moment: datetime, verifier: MarkingVerifier | None,
           local_log: LocalLog | None, host: str) -> tuple[Judgement, list[Custodian]]:
    """The verdict and the item's custody, read in one snapshot."""
    with Snapshot(ledger.db) as reads:
        judgement = judge(reads, scanned, moment, verifier, local_log, host)
        if judgement.item is None:
            return judgement, []
        return judgement, [Custodian(**link) for link in custody_chain(reads, judgement.entries)]


def _answer(judgement: Judgement, proof: ScanProof | None, inspection: Recorded, custody: list[Custodian] | None) -> ScanOut:
    item = judgement.item
    return ScanOut(
        verdict=judgement.verdict,
        reasons=[Reason(verdict=f.verdict, detail=f.detail) for f in judgement.findings],
        advice=judgement.advice,
        item=None if item is None else item_out(item),
        status=None if item is None else item.status,
        custody=custody or [],
        permit=None if judgement.permit is None else permit_out(judgement.permit, judgement.lines),
        proof=proof,
        inspection=inspection,
        imported=[entry.seq for entry in judgement.entries if entry.imported],
    )


async def _across_the_border(request: Request, caller: Party, body: ScanRequest, peer: Peer, uid: str) -> ScanOut:
    """A code of a peer log's item: ask that log (or take its last verified answer), record the
    inspection here naming that log, and tell it of a hit on a flagged item."""
    state = request.app.state
    ledger: Ledger = state.ledger
    lookup = await look_up_peer(state, peer, uid)
    moment = ledger.clock()
    findings = status_findings(lookup, moment, state.peer_status_max_age)
    verdict = v.worst(findings)
    inspection, attestation = await _record(ledger, request, caller, body, uid, verdict, format_time(moment), [], peer.origin)
    known = lookup.status
    if known is not None and known.flagged and inspection.recorded and inspection.seq is not None:
        await send_hit(state, peer, inspection.seq)
    proof = None if attestation is None else ScanProof(checkpoint=attested_out(attestation), entries=inclusion_out(attestation))
    return ScanOut(verdict=verdict, reasons=[Reason(verdict=f.verdict, detail=f.detail) for f in findings], advice=v.advice(verdict),
                   item=None, status=None if known is None else known.status, custody=[], permit=None, proof=proof,
                   inspection=inspection, foreign=None if known is None else _foreign_out(lookup, known, moment))


def _foreign_out(lookup: Lookup, known: ForeignStatus, moment: datetime) -> ForeignOut:
    said = known.answer
    return ForeignOut(peer=known.peer, origin=known.origin, country=known.country, uid=known.uid, status=known.status,
                      flagged=known.flagged, as_of=known.as_of, age_seconds=int(known.age(moment).total_seconds()),
                      answered_now=lookup.fresh, problem=lookup.problem, verified_at=known.verified_at, kind=said.get("kind"),
                      facts=said.get("facts"), holder_country=said.get("holder_country"), proof=str(said["proof"]),
                      leaf_hash=str(said["leaf_hash"]))


async def _record(ledger: Ledger, request: Request, caller: Party, body: ScanRequest, uid: str, verdict: str, now: str,
                  history: list[int], log: str | None = None) -> tuple[Recorded, Attestation | None]:
    """Append the inspection of item `uid` (of the peer log `log`, if given), attested with the item's
    `history`; a refusal is reported in the answer, never in place of the verdict."""
    if body.inspect is not None:
        envelope, signed_by = body.inspect, "client"
        event = envelope.event
        if event.get("type") != "inspect" or event.get("item") != uid or event.get("actor") != caller.id or event.get("log") != log:
            named = "" if log is None else f" of {log}"
            return Recorded(recorded=False, detail=f"the signed event is not an inspect of {uid}{named} by {caller.id}"), None
    else:
        account = await _managed(request, caller.id)
        if account is None:
            return Recorded(recorded=False, detail=f"{caller.id} has no managed key and sent no signed inspect event"), None
        event = {"type": "inspect", "actor": caller.id, "time": now, "item": uid, "country": body.country,
                 "location": body.location, "direction": body.direction, "verdict": verdict}
        if log is not None:
            event["log"] = log
        envelope, signed_by = Envelope.model_validate(sign_event(account, event, origin=ledger.origin)), "server"
    try:
        receipt, attestation = await ledger.append_attested_async(envelope, prove=history)
    except LedgerError as exc:
        return Recorded(recorded=False, detail=f"the inspection was refused: {type(exc).__name__}: {exc}"), None
    return Recorded(recorded=True, seq=receipt.seq, leaf_hash=receipt.leaf_hash.hex(), signed_by=signed_by,
                    detail="recorded as a duplicate of an earlier identical inspection" if receipt.duplicate else "recorded"), attestation


async def _managed(request: Request, party_id: str) -> LocalAccount | None:
    """The party's managed key; decrypted in a worker thread the first time (scrypt is slow on purpose)."""
    cache: dict[str, LocalAccount | None] = request.app.state.managed_keys
    if party_id in cache:
        return cache[party_id]
    settings: Settings = request.app.state.settings
    return await asyncio.to_thread(cached_managed_key, cache, settings, party_id)
