"""Hit notices: a peer scanned one of this log's flagged items, and proves it with its own log.

The scanning log (B) sends the issuing log (A) the tlog-proof of its inspection entry against its
own checkpoint (`hit_proof`). A checks it under its verifier policy with B's key (the `add_peer`
vkey), that the inspection is B's (its signed `origin`), names A's log (`log`) and an item A holds,
and appends a `hit_notice` naming B's entry by index and leaf hash (`accept_hit`), signed by A's
`federation` party. The notice is dated with the inspection's time, so the same hit sent twice is
the same signed event, which the log records once.
"""

from __future__ import annotations

from typing import Any

from ledger.domain.events import Envelope
from ledger.errors import LedgerError
from ledger.federation.peers import Peer
from ledger.federation.status import policy_for
from ledger.investigation.item_proof import entry_proof
from ledger.log import merkle
from ledger.log.keys import LocalAccount
from ledger.log.policy import Policy, PolicyError
from ledger.log.signatures import sign_event
from ledger.log.tlog_proof import TlogProof, TlogProofError, verify_tlog_proof
from ledger.store.appender import Receipt
from ledger.store.ledger import Ledger

__all__ = ["HitInvalid", "hit_proof", "accept_hit"]


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
