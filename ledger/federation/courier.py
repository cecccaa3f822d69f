"""The courier: a thread of `tracemark serve` that delivers what this log owes its peers.

Two kinds of message wait in the database until their peer has them: the answers to peers' trace
requests (`deliver_answers`) and hit notices of this log's inspections of peers' flagged items
(`deliver_hits`). Each round posts those that are due; one that fails waits its backoff, kept in
the database, so a restart loses nothing. At start the courier tries every pending hit notice at
once (the peer may be back); then it runs a round every `poll` seconds, and at once when woken
(`wake`: the scan that queued a notice, when it runs in the courier's process).
"""

from __future__ import annotations

import logging
import threading

from ledger.federation.client import PeerClient
from ledger.federation.hits import deliver_hits
from ledger.federation.trace_requests import deliver_answers
from ledger.store.ledger import Ledger

__all__ = ["Courier"]

log = logging.getLogger("tracemark.federation")


class Courier:
    """Delivers trace answers and hit notices to peers through `client`, retrying with backoff."""

    def __init__(self, ledger: Ledger, client: PeerClient, poll: float = 1.0) -> None:
        self.ledger, self.client, self.poll = ledger, client, poll
        self.stopped = threading.Event()
        self._woken = threading.Event()

    def wake(self) -> None:
        """Something new is owed: run a round now rather than at the next poll."""
        self._woken.set()

    def round(self, every: bool = False) -> None:
        """Deliver what is due (`every`: every pending hit notice, due or not)."""
        try:
            deliver_hits(self.ledger, self.client, every)
            deliver_answers(self.ledger, self.client)
        except Exception:  # a database hiccup must not end the thread: the next round tries again
            log.exception("delivery to peers failed")

    def run(self) -> None:
        self.round(every=True)
        while not self.stopped.is_set():
            self._woken.wait(self.poll)
            self._woken.clear()
            if not self.stopped.is_set():
                self.round()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="courier", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.stopped.set()
        self._woken.set()
        self.client.close()
