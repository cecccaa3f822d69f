"""Delivering trace answers to the asking peer: a peer that is down is tried again later, one that
refuses the answer (a 4xx) is not posted to again."""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import Session

from ledger import Ledger
from ledger.federation.errors import PeerRefused, PeerUnreachable
from ledger.federation.peers import Peer
from ledger.federation.trace_requests import deliver_answers
from ledger.store.tables import PeerTraceMessage, PeerTraceRow
from tests.federation.test_peers import KE, peer
from tests.support import World


class Peers:
    """A peer client whose every post fails with `failure`, counting them."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.posts = 0

    def post(self, to: Peer, path: str, body: Any) -> None:
        self.posts += 1
        raise self.failure


def _answer_owed(ledger: Ledger) -> int:
    """A received request from peer `ke`, answered, whose answer is due for delivery now."""
    World(ledger).act("registry", "add_peer", peer=peer("ke", KE, url="http://127.0.0.1:9", country="KE"))
    with Session(ledger.db.writer) as session, session.begin():
        session.add(PeerTraceRow(seq=1, side="received", peer="ke", peer_origin=KE.name, item="item", reason="a theft ring",
                                 requester="ke-investigator", requested_at="2026-12-07T08:00:00Z", deadline="2026-12-08T08:00:00Z",
                                 state="answered"))
        session.add(PeerTraceMessage(seq=1, body=b'{"answer": "chain"}', next_attempt=time.time()))
    return 1


def _message(ledger: Ledger, seq: int) -> PeerTraceMessage:
    with Session(ledger.db.reader) as session:
        row = session.get(PeerTraceMessage, seq)
    assert row is not None
    return row


def test_an_answer_the_peer_refuses_is_not_posted_again(ledger: Ledger) -> None:
    seq = _answer_owed(ledger)
    refusing = Peers(PeerRefused("ke", 403, "you are not a peer of this log"))
    assert deliver_answers(ledger, refusing) == 0
    kept = _message(ledger, seq)
    assert kept.next_attempt is None and kept.delivered_at is None and "403" in (kept.last_error or "")
    assert deliver_answers(ledger, refusing, now=time.time() + 3600) == 0 and refusing.posts == 1


def test_an_answer_to_a_peer_that_is_down_is_tried_again_later(ledger: Ledger) -> None:
    seq = _answer_owed(ledger)
    down = Peers(PeerUnreachable("ke", "connection refused"))
    deliver_answers(ledger, down)
    kept = _message(ledger, seq)
    assert kept.next_attempt is not None and kept.attempts == 1 and "connection refused" in (kept.last_error or "")
    deliver_answers(ledger, down, now=kept.next_attempt + 1)
    assert down.posts == 2
