"""Asking a peer log about one of its items, checking what it says, and keeping the last good answer.

A border scan of a code another log issued (`scanner.logs`) asks that log, if it is a peer, for the
item's status (`GET /federation/v1/items/{uid}/status`, signed both ways by `PeerClient`). The answer
counts only once its tlog-proof holds under this log's verifier policy with the peer's key, and
names the item and the peer asked. The last such answer per (peer, item) is kept, so a scan while
the peer is down, slow or answering garbage still says what was last known, and how old it is: a
`PEER_UNREACHABLE` finding while the answer is younger than `TRACEMARK_PEER_STATUS_MAX_AGE`
(default PT24H), `STALE_STATUS` once it is older, and never a plain VALID.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert

from ledger.domain import verdict as v
from ledger.domain.rules import FLAGGED
from ledger.errors import LedgerError, StoreError
from ledger.federation.client import PeerClient
from ledger.federation.errors import PeerRefused, PeerUnreachable
from ledger.federation.peers import Peer
from ledger.log import merkle
from ledger.log.codec import canonical, format_time, parse_time
from ledger.log.policy import Policy, PolicyError
from ledger.log.tlog_proof import TlogProof, TlogProofError, verify_tlog_proof
from ledger.store.ledger import Ledger
from ledger.store.tables import PeerStatusRow

__all__ = ["MAX_AGE_ENV", "DEFAULT_MAX_AGE", "PEER_UNREACHABLE", "STALE_STATUS", "StatusInvalid", "ForeignStatus", "Lookup",
           "status_max_age", "duration_setting", "parse_duration", "verify_status", "keep_status", "kept_status", "look_up", "status_findings",
           "describe_status", "policy_for"]

MAX_AGE_ENV = "TRACEMARK_PEER_STATUS_MAX_AGE"
DEFAULT_MAX_AGE = timedelta(hours=24)
PEER_UNREACHABLE = "PEER_UNREACHABLE"
STALE_STATUS = "STALE_STATUS"
_STATUSES = ("active", "in_transit", *sorted(FLAGGED))
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_WORDS = {"lost": "reported lost", "stolen": "reported stolen", "active": "registered and not flagged",
          "in_transit": "in transit and not flagged"}


class StatusInvalid(LedgerError):
    """A peer's status answer that does not hold: malformed, about another item or log, or its proof fails."""


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of days, hours, minutes and seconds (`PT24H`, `P2DT6H`, `PT90S`)."""
    found = _DURATION.fullmatch(text.strip().upper())
    if found is None or text.strip().upper() in ("P", "PT") or not any(found.groups()):
        raise StoreError(f"{text!r} is not an ISO 8601 duration such as PT24H")
    days, hours, minutes, seconds = (int(part or 0) for part in found.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def duration_setting(variable: str, default: timedelta) -> timedelta:
    """The ISO 8601 duration in environment variable `variable`, `default` when it is unset; a
    StoreError naming the variable when it is no duration."""
    text = os.environ.get(variable, "")
    if not text:
        return default
    try:
        return parse_duration(text)
    except StoreError as exc:
        raise StoreError(f"{variable}: {exc}") from exc


def status_max_age() -> timedelta:
    """$TRACEMARK_PEER_STATUS_MAX_AGE (default PT24H): how old a kept answer may be before it is stale."""
    return duration_setting(MAX_AGE_ENV, DEFAULT_MAX_AGE)


def policy_for(policy: Policy, peer: Peer) -> tuple[Policy, str | None]:
    """The policy and log key a peer's checkpoints are judged by: this log's policy, with the log line
    of the peer's origin if it lists one, else the peer's vkey (`add_peer`) under the policy's quorum."""
    return policy.for_log(peer.origin, peer.vkey)


@dataclass(frozen=True)
class ForeignStatus:
    """A peer's verified answer about one of its items."""

    peer: str
    country: str
    answer: dict[str, Any]
    verified_at: str

    @property
    def uid(self) -> str:
        return str(self.answer["uid"])

    @property
    def origin(self) -> str:
        return str(self.answer["origin"])

    @property
    def status(self) -> str:
        return str(self.answer["status"])

    @property
    def flagged(self) -> bool:
        return bool(self.answer["flagged"])

    @property
    def as_of(self) -> str:
        return str(self.answer["as_of"])

    def age(self, now: datetime) -> timedelta:
        return max(now - parse_time(self.as_of), timedelta(0))


@dataclass(frozen=True)
class Lookup:
    """What a scan learnt of a peer's item: the status (None when never known), whether it is a fresh
    answer (this scan's exchange, or one shared within `ledger.federation.fresh`'s TTL), and why not
    (the peer's failure) when it is a kept one or none."""

    peer: Peer
    uid: str
    status: ForeignStatus | None
    fresh: bool
    problem: str = ""


def verify_status(content: Any, peer: Peer, uid: str, policy: Policy, now: datetime) -> ForeignStatus:
    """`content`, the peer's signed answer about `uid`, once it names them and its proof holds."""
    if not isinstance(content, dict):
        raise StatusInvalid("the answer is not a JSON object")
    if content.get("origin") != peer.origin or content.get("uid") != uid:
        raise StatusInvalid(f"the answer is about {content.get('uid')!r} of {content.get('origin')!r}, not {uid} of {peer.origin}")
    status, flagged, leaf_hex = content.get("status"), content.get("flagged"), content.get("leaf_hash")
    if status not in _STATUSES or flagged is not (status in FLAGGED):
        raise StatusInvalid(f"status {status!r} flagged {flagged!r} is not a status of an item")
    if not isinstance(leaf_hex, str) or not re.fullmatch(r"[0-9a-f]{64}", leaf_hex):
        raise StatusInvalid("the answer has no leaf hash")
    try:
        parse_time(str(content.get("as_of")))
        proof = TlogProof.parse(str(content.get("proof")))
        judged, vkey = policy_for(policy, peer)
        if proof.extra is not None:
            proven = verify_tlog_proof(proof, judged, vkey)
            if proven.event.get("item") != uid or merkle.leaf_hash(proof.extra).hex() != leaf_hex:
                raise StatusInvalid(f"the proven entry {proof.index} is not the newest entry of {uid}")
        else:
            checkpoint = judged.evaluate(proof.note, vkey).require().checkpoint
            merkle.verify_inclusion(bytes.fromhex(leaf_hex), proof.index, checkpoint.size, proof.proof, checkpoint.root)
        if content.get("checkpoint") != proof.note:
            raise StatusInvalid("the checkpoint is not the one the proof is in")
    except (TlogProofError, PolicyError, merkle.ProofError, ValueError) as exc:
        raise StatusInvalid(f"the proof of {uid} does not hold: {exc}") from exc
    return ForeignStatus(peer.name, peer.country, content, format_time(now))


_KEPT = PeerStatusRow.__table__  # type: ignore[attr-defined]


def keep_status(ledger: Ledger, status: ForeignStatus) -> None:
    """Keep `status` as the last verified answer of its peer about its item."""
    with ledger.db.writer.begin() as connection:
        connection.execute(delete(_KEPT).where(_KEPT.c.peer == status.peer, _KEPT.c.uid == status.uid))
        connection.execute(insert(_KEPT).values(peer=status.peer, uid=status.uid, origin=status.origin,
                                                answer=canonical(status.answer).decode(), verified_at=status.verified_at))


def kept_status(ledger: Ledger, peer: Peer, uid: str) -> ForeignStatus | None:
    """The last verified answer of `peer` about `uid`, if it was ever asked (and is still the same log)."""
    with ledger.reading() as session:
        row = session.get(PeerStatusRow, (peer.name, uid))
    if row is None or row.origin != peer.origin:
        return None
    return ForeignStatus(peer.name, peer.country, json.loads(row.answer), row.verified_at)


async def look_up(ledger: Ledger, client: PeerClient, peer: Peer, uid: str, policy: Policy) -> Lookup:
    """Ask `peer` about `uid` within the client's time bound, holding no thread while it answers; its
    verified answer is kept and returned, and when there is none (down, slow, garbage, refused) the
    kept one, if any, with the reason."""
    try:
        answer = await client.get_async(peer, f"/federation/v1/items/{uid}/status")
        status = verify_status(answer.content, peer, uid, policy, ledger.clock())
    except PeerRefused as refused:
        problem = f"{peer.name} refused: {refused.detail}"
    except (PeerUnreachable, StatusInvalid) as failed:
        problem = str(failed)
    else:
        await asyncio.to_thread(keep_status, ledger, status)
        return Lookup(peer, uid, status, True)
    return Lookup(peer, uid, await asyncio.to_thread(kept_status, ledger, peer, uid), False, problem)


def describe_status(status: str) -> str:
    """An item's status in words for an officer: 'reported stolen', 'seized'."""
    return _WORDS.get(status, status)


def _age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"


def status_findings(lookup: Lookup, now: datetime, max_age: timedelta) -> list[v.Finding]:
    """The scan's findings about a peer's item: its flag, in the peer's words and country, and, when
    the answer is not this exchange's, how far it is to be trusted."""
    peer, status = lookup.peer, lookup.status
    if status is None:
        return [v.Finding(PEER_UNREACHABLE, f"item {lookup.uid} of {peer.origin} ({peer.country}): no answer from the "
                                            f"issuing log and none kept: {lookup.problem}")]
    age = status.age(now)
    said = (f"{describe_status(status.status)} in {peer.country} (item {lookup.uid} of {peer.origin}, "
            f"as of {status.as_of}, {_age(age)})")
    found = [v.Finding(v.FLAG_VERDICTS[status.status], said)] if status.status in v.FLAG_VERDICTS else [v.Finding("PEER_STATUS", said)]
    if not lookup.fresh:
        flag = STALE_STATUS if age > max_age else PEER_UNREACHABLE
        found.insert(0, v.Finding(flag, f"the last verified answer of {peer.origin}, {_age(age)}, is shown: {lookup.problem}"))
    return found
