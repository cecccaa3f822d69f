"""Trace requests between logs: an investigator of one log asks a peer log for an item's custody chain.

Both sides keep everything in their own log. The asking log (B) appends `peer_trace_request`
(signed by its investigator) and posts it, signed, to the peer (A); A appends `peer_trace_arrival`
(signed by its `federation` desk, `ledger.federation.desk`). An investigator of A decides:
`peer_trace_decision` granted (A sends the chain) or refused (with a reason). A posts the answer
to B, retrying with backoff while B is down (`ledger.federation.courier`); B may also fetch it. B verifies the
answer against A's cosigned checkpoint (A's vkey under B's verifier policy) and appends
`peer_trace_answer` (its desk). A request is open, answered or refused; open past its deadline,
it reads as overdue on both sides.

What a granted chain carries is A's sharing policy for B (`add_peer --share`): every step's entry
number, type, time, acting party, leaf hash and inclusion proof always; the item's facts, the
steps' full descriptions and the entries' bytes (so B checks each step's content, not only that
the entry exists) only with `facts`; the countries of the steps only with `holder_country`. An
entry that names a case number is sent by its leaf hash alone; owner data never enters the log.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from ledger.config import Settings, positive_duration
from ledger.domain.events import ITEM_EVENTS
from ledger.errors import EventInvalid, LedgerError, NotFound, StoreError
from ledger.federation.client import PeerClient
from ledger.federation.desk import federation_account
from ledger.federation.errors import PeerRefused
from ledger.federation.peers import Peer, peer_by_origin, peer_named
from ledger.investigation.trace import trace_item
from ledger.log import merkle
from ledger.log.codec import canonical, format_time, parse_time, sha256
from ledger.log.entry import GENESIS_PREV, entry_bytes
from ledger.log.keys import LocalAccount
from ledger.log.policy import LOG_KEY_ONLY, Policy, PolicyError, load_policy
from ledger.log.signatures import sign_event
from ledger.store.ledger import Ledger
from ledger.store.tables import Entry, PeerTraceMessage, PeerTraceRow
from ledger.witness.cosigned import best_cosigned

__all__ = ["DEADLINE_ENV", "TraceAnswerRefused", "PeerTrace", "trace_deadline", "ask_peer", "send_request", "record_arrival",
           "decide", "answer_of", "verify_answer", "check_answer", "record_answer", "fetch_answer", "deliver_answers",
           "list_peer_traces", "peer_trace"]

log = logging.getLogger(__name__)

DEADLINE_ENV = "TRACEMARK_TRACE_DEADLINE"
REQUESTS = "/federation/v1/trace-requests"
ANSWERS = "/federation/v1/trace-answers"
_MAX_BACKOFF = 300.0


class TraceAnswerRefused(LedgerError):
    """A peer's answer to a trace request does not hold: `detail` says what (nothing was recorded)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"the trace answer is refused: {detail}")
        self.detail = detail


def trace_deadline() -> timedelta:
    """$TRACEMARK_TRACE_DEADLINE (ISO 8601 duration, default PT24H): how long a peer has to answer."""
    return positive_duration(DEADLINE_ENV, os.environ.get(DEADLINE_ENV) or "PT24H")


@dataclass(frozen=True)
class PeerTrace:
    """A trace request between logs as this log sees it; `state` is open, overdue, answered or refused."""

    seq: int
    side: str
    peer: str
    peer_origin: str
    item: str
    reason: str
    requester: str
    requested_at: str
    deadline: str
    state: str
    peer_seq: int | None
    decided_seq: int | None
    decided_at: str | None
    decided_by: str | None
    refusal: str | None
    remote_seq: int | None
    delivered_at: str | None
    delivery_error: str | None
    """Why the last try to post this side's message (the request, sent; the answer, received) to the peer failed."""
    answer: dict[str, Any] | None
    """The answer's body (received, or sent once granted)."""

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _state(row: PeerTraceRow, now: datetime) -> str:
    if row.state == "open" and now > parse_time(row.deadline):
        return "overdue"
    return row.state


def _view(row: PeerTraceRow, message: PeerTraceMessage | None, now: datetime) -> PeerTrace:
    answer = json.loads(message.body) if message is not None and message.body else None
    return PeerTrace(seq=row.seq, side=row.side, peer=row.peer, peer_origin=row.peer_origin, item=row.item, reason=row.reason,
                     requester=row.requester, requested_at=row.requested_at, deadline=row.deadline, state=_state(row, now),
                     peer_seq=row.peer_seq, decided_seq=row.decided_seq, decided_at=row.decided_at, decided_by=row.decided_by,
                     refusal=row.refusal, remote_seq=None if message is None else message.remote_seq,
                     delivered_at=None if message is None else message.delivered_at,
                     delivery_error=None if message is None else message.last_error, answer=answer)


def list_peer_traces(ledger: Ledger, side: str | None = None) -> list[PeerTrace]:
    """Every trace request between logs, newest first (`side`: sent or received, else both)."""
    now = ledger.clock()
    query = select(PeerTraceRow, PeerTraceMessage).join(PeerTraceMessage, col(PeerTraceMessage.seq) == col(PeerTraceRow.seq), isouter=True)
    if side is not None:
        query = query.where(col(PeerTraceRow.side) == side)
    with ledger.reading() as session:
        return [_view(row, message, now) for row, message in session.exec(query.order_by(col(PeerTraceRow.seq).desc()))]


def peer_trace(ledger: Ledger, seq: int) -> PeerTrace:
    with ledger.reading() as session:
        row = session.get(PeerTraceRow, seq)
        if row is None:
            raise NotFound("trace request between logs", seq)
        return _view(row, session.get(PeerTraceMessage, seq), ledger.clock())


def _keep(ledger: Ledger, seq: int, **values: Any) -> None:
    """Set columns of the request's message row (made on first use)."""
    with Session(ledger.db.writer) as session, session.begin():
        row = session.get(PeerTraceMessage, seq)
        if row is None:
            row = PeerTraceMessage(seq=seq)
            session.add(row)
        for name, value in values.items():
            setattr(row, name, value)


def _append(ledger: Ledger, account: LocalAccount, event: dict[str, Any]) -> int:
    event = {"actor": ledger.key_owner(account.address), "time": format_time(ledger.clock()), **event}
    return ledger.append(sign_event(account, event, origin=ledger.origin)).seq


# ---------------------------------------------------------------- the asking log (B)


def ask_peer(ledger: Ledger, account: LocalAccount, peer: str, item: str, reason: str, deadline: timedelta | None = None) -> int:
    """Append the investigator's `peer_trace_request` (signed by `account`) and return its entry."""
    due = format_time(ledger.clock() + (deadline or trace_deadline()))
    return _append(ledger, account, {"type": "peer_trace_request", "peer": peer, "item": item.upper(), "reason": reason, "deadline": due})


def _peer(ledger: Ledger, name: str) -> Peer:
    found = peer_named(ledger, name)
    if found is None:
        raise NotFound("current peer", name)
    return found


def send_request(ledger: Ledger, client: PeerClient, seq: int) -> int:
    """Post request `seq` to its peer (signed); returns the peer's entry of its arrival.
    PeerUnreachable / PeerRefused when it did not arrive."""
    row = peer_trace(ledger, seq)
    if row.side != "sent":
        raise NotFound("trace request sent to a peer", seq)
    payload = {"request_seq": row.seq, "requester": row.requester, "item": row.item, "reason": row.reason, "deadline": row.deadline}
    try:
        answer = client.post(_peer(ledger, row.peer), REQUESTS, payload)
        arrival = answer.content.get("arrival_seq") if isinstance(answer.content, dict) else None
        if type(arrival) is not int:
            raise TraceAnswerRefused(f"the peer's receipt names no arrival entry: {answer.body[:200]!r}")
    except LedgerError as exc:
        _keep(ledger, seq, last_error=str(exc)[:500])  # shown with the request until a send gets through
        raise
    _keep(ledger, seq, remote_seq=arrival, last_error=None)
    return arrival


def _policy(settings: Settings) -> Policy:
    return LOG_KEY_ONLY if settings.policy_path is None else load_policy(settings.policy_path)


def _b64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise TraceAnswerRefused(f"{what} is not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TraceAnswerRefused(f"{what} is not base64: {exc}") from exc


def verify_answer(row: PeerTrace, peer: Peer, policy: Policy, answer: dict[str, Any]) -> int | None:
    """Check a peer's answer to request `row`: whose it is, and for a granted chain, every step's
    inclusion in the peer's checkpoint that `policy` accepts (with the peer's vkey), and, where the
    entry's bytes came, that they are that leaf and say what the step says. Returns the checkpoint's size."""
    if answer.get("request_seq") != row.seq or answer.get("origin") != peer.origin:
        raise TraceAnswerRefused(f"the answer is to request {answer.get('request_seq')!r} of {answer.get('origin')!r}, "
                                 f"not to {row.seq} of {peer.origin!r}")
    outcome = answer.get("outcome")
    if outcome == "refused":
        if not isinstance(answer.get("reason"), str) or not answer["reason"]:
            raise TraceAnswerRefused("a refusal says why: the answer has no reason")
        return None
    if outcome != "granted":
        raise TraceAnswerRefused(f"outcome {outcome!r} is neither granted nor refused")
    chain = answer.get("chain")
    if not isinstance(chain, dict) or chain.get("uid") != row.item:
        raise TraceAnswerRefused(f"the chain is not of item {row.item}")
    note = chain.get("checkpoint")
    try:
        evaluation = policy.evaluate(str(note), peer.vkey).require()
    except PolicyError as exc:
        raise TraceAnswerRefused(f"the chain's checkpoint does not verify under this log's policy: {exc}") from exc
    checkpoint = evaluation.checkpoint
    if checkpoint.origin != peer.origin:
        raise TraceAnswerRefused(f"the checkpoint is of {checkpoint.origin!r}, not of the peer {peer.origin!r}")
    steps = chain.get("steps")
    if not isinstance(steps, list) or not steps:
        raise TraceAnswerRefused("the chain has no steps")
    for step in steps:
        _verify_step(step, row.item, checkpoint.size, checkpoint.root)
    return checkpoint.size


def check_answer(ledger: Ledger, settings: Settings, row: PeerTrace) -> int | None:
    """Verify the answer request `row` got again, as on its arrival (`verify_answer`), with the peer's key
    and this server's policy as they are now: the checkpoint size a granted chain is proven in (None for a
    refusal). TraceAnswerRefused says why it does not verify (no answer, the peer removed, a new key or policy)."""
    if row.side != "sent" or row.answer is None:
        raise TraceAnswerRefused(f"request {row.seq} has no answer from a peer")
    peer = peer_by_origin(ledger, row.peer_origin)
    if peer is None:
        raise TraceAnswerRefused(f"{row.peer_origin} is no longer a peer: this log holds no key of it to check with")
    return verify_answer(row, peer, _policy(settings), row.answer)


def _verify_step(step: Any, uid: str, size: int, root: bytes) -> None:
    if not isinstance(step, dict) or type(step.get("seq")) is not int:
        raise TraceAnswerRefused(f"a step is not an object with an entry number: {str(step)[:100]}")
    seq = step["seq"]
    try:
        leaf = bytes.fromhex(str(step.get("leaf_hash")))
    except ValueError as exc:
        raise TraceAnswerRefused(f"step {seq}: the leaf hash is not hex") from exc
    if "entry" in step:
        entry_raw = _b64(step["entry"], f"step {seq}'s entry")
        if merkle.leaf_hash(entry_raw) != leaf:
            raise TraceAnswerRefused(f"step {seq}: the entry's bytes are not the leaf {leaf.hex()}")
        entry = json.loads(entry_raw)
        event = entry.get("event", {})
        if entry.get("seq") != seq or event.get("item") != uid or event.get("type") != step.get("type") or event.get("actor") != step.get("actor"):
            raise TraceAnswerRefused(f"step {seq}: the entry says something else than the step")
    proof = step.get("proof")
    if not isinstance(proof, list):
        raise TraceAnswerRefused(f"step {seq} has no inclusion proof")
    try:
        merkle.verify_inclusion(leaf, seq, size, [_b64(h, f"step {seq}'s proof") for h in proof], root)
    except merkle.ProofError as exc:
        raise TraceAnswerRefused(f"step {seq} is not in the peer's checkpoint of size {size}: {exc}") from exc


def record_answer(ledger: Ledger, settings: Settings, desk: LocalAccount, peer: Peer, body: bytes, headers: dict[str, str]) -> int:
    """Verify a peer's answer (its signed body as received) and append `peer_trace_answer` (signed by `desk`);
    the entry. The same answer again returns the entry it made; a different one to a settled request is refused."""
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise TraceAnswerRefused(f"the answer is not JSON: {exc}") from exc
    if not isinstance(answer, dict) or type(answer.get("request_seq")) is not int:
        raise TraceAnswerRefused("the answer names no request_seq")
    try:
        row = peer_trace(ledger, answer["request_seq"])
    except NotFound as exc:
        raise TraceAnswerRefused(f"this log sent no trace request {answer['request_seq']}") from exc
    if row.side != "sent" or row.peer_origin != peer.origin:
        raise TraceAnswerRefused(f"request {row.seq} was not sent to {peer.origin}")
    digest = sha256(body).hex()
    if row.state in ("answered", "refused"):
        if row.answer is not None and sha256(canonical(row.answer)).hex() == sha256(canonical(answer)).hex():
            assert row.decided_seq is not None
            return row.decided_seq
        raise TraceAnswerRefused(f"request {row.seq} is {row.state} already")
    size = verify_answer(row, peer, _policy(settings), answer)
    decision_seq = answer.get("decision_seq")
    if type(decision_seq) is not int or decision_seq < 0:
        raise TraceAnswerRefused("the answer names no decision entry")
    event: dict[str, Any] = {"type": "peer_trace_answer", "request_seq": row.seq, "outcome": answer["outcome"],
                             "peer_seq": decision_seq, "answer_digest": digest}
    if answer["outcome"] == "refused":
        event["reason"] = answer["reason"][:500]
    if size is not None:
        event["checkpoint_size"] = size
    seq = _append(ledger, desk, event)
    _keep(ledger, row.seq, body=body, headers=json.dumps(headers, sort_keys=True))
    return seq


def fetch_answer(ledger: Ledger, settings: Settings, client: PeerClient, seq: int) -> int | None:
    """Ask the peer for its answer to request `seq` (when its delivery did not come); the
    `peer_trace_answer` entry, or None while the peer has not decided."""
    row = peer_trace(ledger, seq)
    if row.side != "sent":
        raise NotFound("trace request sent to a peer", seq)
    if row.remote_seq is None:
        raise StoreError(f"request {seq} has not reached {row.peer} yet: send it again")
    peer = _peer(ledger, row.peer)
    got = client.get(peer, f"{REQUESTS}/{row.remote_seq}")
    answer = got.content.get("answer") if isinstance(got.content, dict) else None
    if answer is None:
        return None
    return record_answer(ledger, settings, federation_account(settings), peer, canonical(answer), got.signature)


# ---------------------------------------------------------------- the asked log (A)


def record_arrival(ledger: Ledger, desk: LocalAccount, peer: Peer, request: Any) -> PeerTrace:
    """Append `peer_trace_arrival` (signed by `desk`, the federation desk's key) for a peer's signed request; the same request again
    returns the arrival it made."""
    if not isinstance(request, dict):
        raise EventInvalid("a trace request is a JSON object")
    peer_seq = request.get("request_seq")
    with ledger.reading() as session:
        seen = session.exec(select(PeerTraceRow).where(col(PeerTraceRow.side) == "received", col(PeerTraceRow.peer_origin) == peer.origin,
                                                       col(PeerTraceRow.peer_seq) == peer_seq)).first()
    if seen is not None:
        return peer_trace(ledger, seen.seq)
    event = {"type": "peer_trace_arrival", "peer": peer.name, "peer_origin": peer.origin, "peer_seq": peer_seq,
             "requester": request.get("requester"), "item": request.get("item"), "reason": request.get("reason"),
             "deadline": request.get("deadline")}
    return peer_trace(ledger, _append(ledger, desk, event))


def _chain(ledger: Ledger, uid: str, peer: Peer) -> dict[str, Any]:
    """The item's custody chain with inclusion proofs against a cosigned checkpoint, as `peer` may see it."""
    trace = trace_item(ledger, uid)
    custody = [step for step in trace.steps if step.type in ITEM_EVENTS]  # not the trace requests about the item
    checkpoint, note = best_cosigned(ledger, covering=max(step.seq for step in custody))
    proofs = ledger.inclusion_proofs([step.seq for step in custody], checkpoint.size)
    facts, countries = peer.shares("facts"), peer.shares("holder_country")
    with ledger.reading() as session:
        entries = {entry.seq: entry for entry in session.exec(select(Entry).where(col(Entry.item_uid) == uid))}
        prevs = {entry.seq: entry.leaf_hash for entry in session.exec(
            select(Entry).where(col(Entry.seq).in_([s - 1 for s in entries if s > 0])))}
    steps = []
    for step in custody:
        out: dict[str, Any] = {"seq": step.seq, "type": step.type, "time": step.time, "actor": step.actor, "leaf_hash": step.leaf_hash,
                               "summary": step.summary if facts else step.type.replace("_", " "),
                               "proof": [base64.b64encode(h).decode() for h in proofs[step.seq]]}
        if countries:
            out["country"] = step.country
        entry = entries[step.seq]
        if facts and b'"case"' not in entry.event:
            prev = GENESIS_PREV if step.seq == 0 else prevs[step.seq - 1]
            raw = entry_bytes(entry.seq, prev, entry.recorded_at, entry.event, entry.signer, entry.signature, entry.imported)
            out["entry"] = base64.b64encode(raw).decode()
        steps.append(out)
    chain: dict[str, Any] = {"uid": uid, "kind": trace.kind, "status": trace.status, "checkpoint": note, "steps": steps}
    if facts:
        chain["facts"] = trace.facts
    return chain


def decide(ledger: Ledger, account: LocalAccount, arrival_seq: int, grant: bool, reason: str | None = None) -> int:
    """An investigator's decision on a peer's request (signed by `account`): granted, the chain as the
    peer may see it is kept for delivery; refused, the reason. Returns the decision's entry."""
    row = peer_trace(ledger, arrival_seq)
    if row.side != "received":
        raise NotFound("trace request received from a peer", arrival_seq)
    peer = _peer(ledger, row.peer)
    answer: dict[str, Any] = {"origin": ledger.origin, "request_seq": row.peer_seq, "arrival_seq": arrival_seq}
    event: dict[str, Any] = {"type": "peer_trace_decision", "arrival_seq": arrival_seq}
    if grant:
        try:
            chain = _chain(ledger, row.item, peer)
        except NotFound:
            raise StoreError(f"item {row.item} is not in this log: refuse the request, saying so") from None
        event |= {"outcome": "granted", "answer_digest": sha256(canonical(chain)).hex()}
        answer |= {"outcome": "granted", "chain": chain}
    else:
        event |= {"outcome": "refused", "reason": reason}
        answer |= {"outcome": "refused", "reason": reason}
    seq = _append(ledger, account, event)
    answer["decision_seq"] = seq
    _keep(ledger, arrival_seq, body=canonical(answer), next_attempt=time.time())
    return seq


def answer_of(ledger: Ledger, peer: Peer, arrival_seq: int) -> dict[str, Any]:
    """What a peer fetching its request's answer gets: the state, and the answer once decided."""
    row = peer_trace(ledger, arrival_seq)
    if row.side != "received" or row.peer_origin != peer.origin:
        raise NotFound("trace request of yours", arrival_seq)
    return {"arrival_seq": arrival_seq, "state": row.state, "deadline": row.deadline, "answer": row.answer}


def deliver_answers(ledger: Ledger, client: PeerClient, now: float | None = None) -> int:
    """Post every answer whose delivery is due to its peer; one that fails waits twice as long as
    before (up to 5 min), and one the peer refuses (a 4xx) is not posted again. Returns how many were delivered."""
    moment = time.time() if now is None else now
    with ledger.reading() as session:
        due = list(session.exec(select(PeerTraceMessage, PeerTraceRow).join(PeerTraceRow, col(PeerTraceRow.seq) == col(PeerTraceMessage.seq))
                                .where(col(PeerTraceMessage.delivered_at).is_(None), col(PeerTraceMessage.next_attempt) <= moment)))
    delivered = 0
    for message, row in due:
        try:
            peer = _peer(ledger, row.peer)
            client.post(peer, ANSWERS, json.loads(message.body or b"null"))
        except PeerRefused as refused:  # the peer answered no: asking again would not change its mind
            _keep(ledger, message.seq, attempts=message.attempts + 1, next_attempt=None, last_error=str(refused)[:500])
            log.warning("trace answer %s refused by %s, not sent again (it can still fetch it): %s", message.seq, row.peer, refused)
        except LedgerError as exc:
            attempts = message.attempts + 1
            _keep(ledger, message.seq, attempts=attempts, next_attempt=moment + min(2.0 ** attempts, _MAX_BACKOFF), last_error=str(exc)[:500])
            log.warning("trace answer %s to %s not delivered (%s tries): %s", message.seq, row.peer, attempts, exc)
        else:
            _keep(ledger, message.seq, delivered_at=format_time(ledger.clock()), next_attempt=None, last_error=None, attempts=message.attempts + 1)
            delivered += 1
    return delivered

