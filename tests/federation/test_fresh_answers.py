"""The freshness cache of peer answers on its own: one request per (peer, item) in flight, answers
reused within the TTL and not after it, refreshed in the background past half of it, failures never
reused, a re-described peer asked anew.
(With real servers: tests/federation/test_cross_border.py.)"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from ledger import FreshAnswers, Lookup, Peer, StoreError, cache_ttl, status_max_age

PEER = Peer("de", "registry.de.example/log", "registry.de.example/log+01020304+AAAA", "http://127.0.0.1:9", "DE", (), 7)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Peerish:
    """Answers as a peer would, counting the requests; `gate` holds every answer until it is set."""

    def __init__(self, fresh: bool = True) -> None:
        self.asked = 0
        self.fresh = fresh
        self.gate = asyncio.Event()
        self.gate.set()

    def ask(self, peer: Peer, uid: str) -> object:
        async def answer() -> Lookup:
            self.asked += 1
            await self.gate.wait()
            return Lookup(peer, uid, None, self.fresh, "" if self.fresh else "no answer within 2 s")
        return answer


def test_scans_of_one_item_while_it_is_asked_about_share_one_request() -> None:
    async def scans() -> list[Lookup]:
        answers, peer = FreshAnswers(timedelta(seconds=10)), Peerish()
        peer.gate.clear()
        waiting = [asyncio.ensure_future(answers.look_up(PEER, "01A", peer.ask(PEER, "01A"))) for _ in range(5)]
        other = asyncio.ensure_future(answers.look_up(PEER, "01B", peer.ask(PEER, "01B")))
        await asyncio.sleep(0.01)
        assert peer.asked == 2  # one request per item
        peer.gate.set()
        found = await asyncio.gather(*waiting, other)
        assert peer.asked == 2
        return found

    found = asyncio.run(scans())
    assert {lookup.uid for lookup in found} == {"01A", "01B"} and all(lookup.fresh for lookup in found)


def test_an_answer_is_reused_within_the_ttl_and_asked_for_again_after_it() -> None:
    async def scans() -> None:
        clock, peer = Clock(), Peerish()
        answers = FreshAnswers(timedelta(seconds=10), clock)
        await answers.look_up(PEER, "01A", peer.ask(PEER, "01A"))
        clock.now += 9.9
        assert (await answers.look_up(PEER, "01A", peer.ask(PEER, "01A"))).fresh
        assert peer.asked == 1
        clock.now += 0.1
        await answers.look_up(PEER, "01A", peer.ask(PEER, "01A"))
        assert peer.asked == 2

    asyncio.run(scans())


def test_an_answer_past_half_its_ttl_is_asked_for_again_while_it_is_still_used() -> None:
    async def scans() -> None:
        clock, peer = Clock(), Peerish()
        answers = FreshAnswers(timedelta(seconds=10), clock)
        first = await answers.look_up(PEER, "01A", peer.ask(PEER, "01A"))
        clock.now += 4.9
        assert await answers.look_up(PEER, "01A", peer.ask(PEER, "01A")) is first
        await asyncio.sleep(0.01)
        assert peer.asked == 1  # younger than half the TTL: no refresh
        clock.now += 0.2
        peer.gate.clear()
        assert await answers.look_up(PEER, "01A", peer.ask(PEER, "01A")) is first  # not kept waiting for the refresh
        await asyncio.sleep(0.01)
        assert peer.asked == 2
        peer.gate.set()
        await asyncio.sleep(0.01)
        clock.now += 9.0  # 14.1 s after the first answer, 9 s after the refresh was asked for
        refreshed = await answers.look_up(PEER, "01A", peer.ask(PEER, "01A"))
        assert refreshed is not first and refreshed.fresh and peer.asked == 2

    asyncio.run(scans())


def test_a_failure_is_never_reused_and_a_zero_ttl_always_asks() -> None:
    async def scans() -> None:
        failing, answers = Peerish(fresh=False), FreshAnswers(timedelta(seconds=10))
        for _ in range(3):
            assert not (await answers.look_up(PEER, "01A", failing.ask(PEER, "01A"))).fresh
        assert failing.asked == 3
        peer, uncached = Peerish(), FreshAnswers(timedelta(0))
        for _ in range(3):
            await uncached.look_up(PEER, "01A", peer.ask(PEER, "01A"))
        assert peer.asked == 3

    asyncio.run(scans())


def test_a_peer_described_anew_is_asked_anew() -> None:
    async def scans() -> None:
        peer, answers = Peerish(), FreshAnswers(timedelta(seconds=10))
        await answers.look_up(PEER, "01A", peer.ask(PEER, "01A"))
        for anew in (replace(PEER, added_seq=9), replace(PEER, vkey="registry.de.example/log+0a0b0c0d+BBBB"),
                     replace(PEER, url="https://tracemark.registry.de.example")):
            await answers.look_up(anew, "01A", peer.ask(anew, "01A"))
        assert peer.asked == 4

    asyncio.run(scans())


def test_a_scan_that_gives_up_leaves_the_request_to_the_others() -> None:
    async def scans() -> None:
        peer, answers = Peerish(), FreshAnswers(timedelta(seconds=10))
        peer.gate.clear()
        impatient = asyncio.ensure_future(answers.look_up(PEER, "01A", peer.ask(PEER, "01A")))
        patient = asyncio.ensure_future(answers.look_up(PEER, "01A", peer.ask(PEER, "01A")))
        await asyncio.sleep(0.01)
        impatient.cancel()
        peer.gate.set()
        assert (await patient).fresh and peer.asked == 1

    asyncio.run(scans())


def test_the_ttl_is_an_iso_8601_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACEMARK_PEER_CACHE_TTL", raising=False)
    assert cache_ttl() == timedelta(seconds=10)
    monkeypatch.setenv("TRACEMARK_PEER_CACHE_TTL", "PT1M30S")
    assert cache_ttl() == timedelta(seconds=90)
    monkeypatch.setenv("TRACEMARK_PEER_CACHE_TTL", "10s")
    with pytest.raises(StoreError, match="TRACEMARK_PEER_CACHE_TTL: '10s' is not an ISO 8601 duration"):
        cache_ttl()
    monkeypatch.setenv("TRACEMARK_PEER_STATUS_MAX_AGE", "a day")
    with pytest.raises(StoreError, match="TRACEMARK_PEER_STATUS_MAX_AGE: 'a day' is not an ISO 8601 duration"):
        status_max_age()
