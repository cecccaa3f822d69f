"""Peer answers fresh enough to reuse: the scans of a peer's item within a few seconds ask that peer once.

A cross-border scan asks the issuing log for the item's status (`ledger.federation.status.look_up`),
which costs a signed exchange, the peer's proof and its verification. A border post scans the same
items again and again (a container of skins, a consignment of rifles), so a verified answer is
reused for `TRACEMARK_PEER_CACHE_TTL` (ISO 8601, default PT10S) from when it was asked for: the
TTL is how late a change in the issuing log (a theft reported there) can reach this log's verdict.
Scans of an item while it is being asked about wait for that one request (single flight); only a
fresh, verified answer is reused, never a failure or a kept one. A scan of an answer past half its
TTL still gets it, and asks again in the background (refresh ahead): an item scanned steadily never
makes its scans wait for the peer, and no answer older than the TTL is ever used.

The answers are per server process, keyed by the whole peer as the log describes it now: a peer
re-described (`peers add` again: a new key, URL or origin) is another key, and a removed peer is
never asked about at all, so no answer outlives the peering it came from.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from ledger.federation.peers import Peer
from ledger.federation.status import Lookup, duration_setting

__all__ = ["CACHE_TTL_ENV", "DEFAULT_CACHE_TTL", "cache_ttl", "FreshAnswers"]

CACHE_TTL_ENV = "TRACEMARK_PEER_CACHE_TTL"
DEFAULT_CACHE_TTL = timedelta(seconds=10)

_Key = tuple[Peer, str]
REFRESH_AFTER = 0.5
"""Of the TTL: an answer this old is asked for again in the background when it is next used."""


def cache_ttl() -> timedelta:
    """$TRACEMARK_PEER_CACHE_TTL (default PT10S): how long a verified peer answer is reused; PT0S asks every time."""
    return duration_setting(CACHE_TTL_ENV, DEFAULT_CACHE_TTL)


class FreshAnswers:
    """Verified peer answers younger than `ttl`, and the one request in flight per (peer, item)."""

    def __init__(self, ttl: timedelta, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl.total_seconds()
        self._clock = clock
        self._answers: dict[_Key, tuple[float, Lookup]] = {}
        """(when it was asked for, the answer), oldest first."""
        self._flights: dict[_Key, asyncio.Task[Lookup]] = {}

    async def look_up(self, peer: Peer, uid: str, ask: Callable[[], Awaitable[Lookup]]) -> Lookup:
        """A fresh answer about `uid` from `peer`, else the outcome of `ask()`, shared with every scan
        of the same item that comes while it runs."""
        key = (peer, uid)
        kept = self._answers.get(key)
        if kept is not None:
            age = self._clock() - kept[0]
            if age < self.ttl:
                if age >= self.ttl * REFRESH_AFTER:
                    self._flight(key, ask).add_done_callback(_unawaited)
                return kept[1]
        return await asyncio.shield(self._flight(key, ask))  # a scan that gives up does not cancel the others' request

    def _flight(self, key: _Key, ask: Callable[[], Awaitable[Lookup]]) -> asyncio.Task[Lookup]:
        """The request about `key` in flight, started now if there is none."""
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = asyncio.get_running_loop().create_task(self._ask(key, ask))
        return flight

    async def _ask(self, key: _Key, ask: Callable[[], Awaitable[Lookup]]) -> Lookup:
        asked = self._clock()  # the answer is as of this moment or later: its age counts from here
        try:
            lookup = await ask()
        finally:
            del self._flights[key]
        if lookup.fresh:
            self._answers.pop(key, None)
            self._answers[key] = (asked, lookup)
            self._forget_expired()
        return lookup

    def _forget_expired(self) -> None:
        """Drop the oldest answers while they have expired, so the process keeps only live ones."""
        horizon = self._clock() - self.ttl
        while self._answers:
            oldest = next(iter(self._answers))
            if self._answers[oldest][0] >= horizon:
                return
            del self._answers[oldest]


def _unawaited(flight: asyncio.Task[Lookup]) -> None:
    """A refresh nobody awaits: its failure is the next scan's to meet, not an unretrieved exception."""
    if not flight.cancelled():
        flight.exception()
