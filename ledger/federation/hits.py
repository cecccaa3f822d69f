"""Hit notices: a peer scanned one of this log's flagged items, and proves it with its own log.

The scanning log (B) sends the issuing log (A) the tlog-proof of its inspection entry against its
own checkpoint (`hit_proof`). A checks it under its verifier policy with B's key (the `add_peer`
vkey), that the inspection is B's (its signed `origin`), names A's log (`log`) and an item A holds,
and appends a `hit_notice` naming B's entry by index and leaf hash (`accept_hit`), signed by A's
`federation` party. The notice is dated with the inspection's time, so the same hit sent twice is
the same signed event, which the log records once.

B keeps each notice it owes in its outbox (`hit_outbox`, `queue_hit`) until A has it: the server's
courier (`ledger.federation.courier`) posts it at once, retries while A is unreachable (1 s,
doubling to 5 min, across restarts), and settles it as delivered (with A's entry), refused (A's
4xx is final: its reason is kept) or dropped (A is no longer a peer, or another log now).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

from sqlmodel import Session, col, select

from ledger.anchoring.worker import Backoff
from ledger.domain.events import Envelope
from ledger.errors import LedgerError, StoreError
from ledger.federation.client import PeerClient
from ledger.federation.errors import PeerRefused, PeerUnreachable
from ledger.federation.peers import Peer, peer_named
from ledger.federation.status import policy_for
from ledger.investigation.item_proof import entry_proof
from ledger.log import merkle
from ledger.log.codec import format_time
from ledger.log.keys import LocalAccount
from ledger.log.policy import Policy, PolicyError
from ledger.log.signatures import sign_event
from ledger.log.tlog_proof import TlogProof, TlogProofError, verify_tlog_proof
from ledger.store.appender import Receipt
from ledger.store.ledger import Ledger
from ledger.store.tables import HitOutboxRow

__all__ = ["HITS", "HIT_BACKOFF", "HitInvalid", "hit_proof", "accept_hit", "queue_hit", "deliver_hits"]

log = logging.getLogger("tracemark.federation")

Outcome = Literal["delivered", "refused", "dropped", "unreachable"]

HITS = "/federation/v1/hits"
HIT_BACKOFF = Backoff(first=1.0, cap=300.0)
"""A second after a notice first fails to reach its peer, doubling to five minutes, for as long as it takes."""


class HitInvalid(LedgerError):
    """A peer's hit notice that does not prove an inspection of one of this log's items by that peer."""


def hit_proof(ledger: Ledger, seq: int) -> dict[str, Any]:
    """The body of `POST /federation/v1/hits` for inspection entry `seq` of this log."""
    return {"proof": entry_proof(ledger, seq).text()}


def accept_hit(ledger: Ledger, peer: Peer, body: Any, policy: Policy, account: LocalAccount) -> Receipt:
    """Check `peer`'s hit notice and append this log's `hit_notice`, signed by the federation `account`."""
    if not isinstance(body, dict) or not isinstance(body.get("proof"), str):
        raise HitInvalid("a hit notice is a JSON object with the tlog-proof of the peer's inspection as 'proof'")
    try:
        proof = TlogProof.parse(body["proof"])
        judged, vkey = policy_for(policy, peer)
        proven = verify_tlog_proof(proof, judged, vkey)
    except (TlogProofError, PolicyError) as exc:
        raise HitInvalid(f"the inspection's proof does not hold under this log's policy for {peer.origin}: {exc}") from exc
    event = proven.event
    if event.get("type") != "inspect" or event.get("origin") != peer.origin or event.get("log") != ledger.origin:
        raise HitInvalid(f"entry {proof.index} of {peer.origin} is not its inspection of an item of {ledger.origin}")
    assert proof.extra is not None  # verify_tlog_proof requires it
    notice = {"type": "hit_notice", "actor": ledger.key_owner(account.address), "time": event["time"], "item": event["item"],
              "peer": peer.name, "peer_origin": peer.origin, "peer_seq": proof.index,
              "peer_leaf_hash": merkle.leaf_hash(proof.extra).hex(), "country": event["country"], "location": event["location"],
              "verdict": event["verdict"]}
    return ledger.append(Envelope.model_validate(sign_event(account, notice, origin=ledger.origin)))


def queue_hit(ledger: Ledger, peer: Peer, seq: int) -> None:
    """Owe `peer` the hit notice of inspection `seq` (once, however often the inspection is resent)."""
    with Session(ledger.db.writer) as session, session.begin():
        if session.get(HitOutboxRow, seq) is None:
            session.add(HitOutboxRow(seq=seq, peer=peer.name, origin=peer.origin, queued_at=format_time(ledger.clock()),
                                     next_attempt=time.time()))


def deliver_hits(ledger: Ledger, client: PeerClient, every: bool = False) -> int:
    """Post each pending notice whose try is due (`every`: due or not, as at server start) to its peer,
    oldest first; once a peer is unreachable, its other notices wait for the next round. Returns how
    many were delivered."""
    query = select(HitOutboxRow).where(col(HitOutboxRow.next_attempt).is_not(None)).order_by(col(HitOutboxRow.seq))
    if not every:
        query = query.where(col(HitOutboxRow.next_attempt) <= time.time())
    with ledger.reading() as session:
        due = list(session.exec(query))
    delivered, unreachable = 0, set[str]()
    for notice in due:
        if notice.peer in unreachable:
            continue
        outcome = _deliver(ledger, client, notice)
        delivered += outcome == "delivered"
        if outcome == "unreachable":
            unreachable.add(notice.peer)
    return delivered


def _deliver(ledger: Ledger, client: PeerClient, notice: HitOutboxRow) -> Outcome:
    """Post one notice and keep what came of it: delivered, refused, dropped or unreachable (to try again)."""
    peer = peer_named(ledger, notice.peer)
    if peer is None or peer.origin != notice.origin:
        _settle(ledger, notice.seq, "dropped", f"{notice.peer} is no longer this log's peer {notice.origin}")
        log.warning("hit notice of entry %s dropped: %s is no longer a peer", notice.seq, notice.peer)
        return "dropped"
    try:
        answer = client.post(peer, HITS, hit_proof(ledger, notice.seq))
    except PeerRefused as refused:
        _settle(ledger, notice.seq, "refused", refused.detail)
        log.warning("hit notice of entry %s refused by %s: %s", notice.seq, peer.name, refused.detail)
        return "refused"
    except (PeerUnreachable, StoreError) as failed:
        attempts = notice.attempts + 1
        delay = HIT_BACKOFF.delay(attempts)
        _keep(ledger, notice.seq, attempts=attempts, next_attempt=time.time() + delay, detail=str(failed)[:500])
        log.info("hit notice of entry %s not delivered to %s (%s tries), again in %g s: %s", notice.seq, peer.name, attempts, delay, failed)
        return "unreachable"
    said = answer.content if isinstance(answer.content, dict) else {}
    _settle(ledger, notice.seq, "delivered", None, peer_seq=said.get("seq") if isinstance(said.get("seq"), int) else None)
    return "delivered"


def _settle(ledger: Ledger, seq: int, state: str, detail: str | None, peer_seq: int | None = None) -> None:
    """End a notice's delivery: nothing more is tried."""
    _keep(ledger, seq, state=state, detail=detail, peer_seq=peer_seq, next_attempt=None, settled_at=format_time(ledger.clock()))


def _keep(ledger: Ledger, seq: int, **values: Any) -> None:
    with Session(ledger.db.writer) as session, session.begin():
        notice = session.get(HitOutboxRow, seq)
        assert notice is not None  # notices are never deleted
        for name, value in values.items():
            setattr(notice, name, value)
