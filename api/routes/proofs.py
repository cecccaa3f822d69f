"""Merkle proofs, public so anyone can check the log without an account, and offline proofs
(C2SP tlog-proof) checked under this server's verifier policy for the camera page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import LedgerDep, SettingsDep
from api.problems import problem
from api.schemas import ConsistencyOut, InclusionOut
from ledger import LOG_KEY_ONLY, CheckpointError, NotFound, PolicyError, TlogProof, TlogProofError, load_policy, verify_tlog_proof

__all__ = ["router"]

router = APIRouter(prefix="/v1/proofs", tags=["proofs"])
Size = Annotated[int, Query(ge=0, le=2**62)]


@router.get("/inclusion", response_model=InclusionOut, summary="RFC 9162 inclusion proof of entry `seq` in the tree of `size`")
def inclusion(ledger: LedgerDep, seq: Size, size: Size) -> InclusionOut:
    path = ledger.inclusion_proof(seq, size)
    entries = ledger.entries(seq, seq + 1)
    if not entries:
        raise NotFound("entry", seq)
    return InclusionOut(seq=seq, size=size, leaf_hash=entries[0].leaf_hash.hex(), root=ledger.root(size).hex(),
                        proof=[h.hex() for h in path])


@router.get("/consistency", response_model=ConsistencyOut, summary="RFC 9162 consistency proof between two tree sizes")
def consistency(ledger: LedgerDep, old: Size, new: Size) -> ConsistencyOut:
    path = ledger.consistency_proof(old, new)
    return ConsistencyOut(old=old, new=new, old_root=ledger.root(old).hex(), new_root=ledger.root(new).hex(),
                          proof=[h.hex() for h in path])


class ProvenOut(BaseModel):
    """The entry a tlog-proof proves, and what vouched for it."""

    verified: bool
    seq: int
    event_type: str
    item: str | None
    actor: str
    time: str
    recorded: str
    origin: str
    checkpoint_size: int
    cosigned_by: list[str]
    policy: list[str]


@router.post("/tlog-proof", response_model=ProvenOut, summary="Verify an offline proof (c2sp.org/tlog-proof@v1) under this server's policy",
             openapi_extra={"requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def verify_proof(request: Request, settings: SettingsDep) -> ProvenOut | JSONResponse:
    """The body is the proof file's text, as a shipment's papers carry it. It is checked with no
    read of the log: the checkpoint's signature by the log's key, the cosignatures the policy
    (`TRACEMARK_POLICY`, else the log's key alone) requires, and the entry's inclusion. A proof that
    does not hold is a 422 saying why."""
    try:
        policy = LOG_KEY_ONLY if settings.policy_path is None else load_policy(settings.policy_path)
    except PolicyError as broken:  # the operator's file, not the caller's proof
        return problem(request, 503, "policy-unavailable", "The server's verifier policy cannot be read", str(broken))
    log_vkey = None if policy.logs else settings.verifier_key()
    try:
        proven = verify_tlog_proof(TlogProof.parse(await request.body()), policy, log_vkey)
    except (TlogProofError, PolicyError, CheckpointError) as refused:
        return problem(request, 422, "tlog-proof", "The proof does not hold", str(refused))
    event, entry = proven.event, proven.entry
    return ProvenOut(verified=True, seq=proven.seq, event_type=str(event.get("type")), item=event.get("item"), actor=str(event.get("actor")),
                     time=str(event.get("time")), recorded=str(entry.get("recorded")), origin=proven.evaluation.checkpoint.origin,
                     checkpoint_size=proven.evaluation.checkpoint.size, cosigned_by=sorted(proven.evaluation.cosigned),
                     policy=policy.describe())
