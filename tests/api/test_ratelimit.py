"""Rate limits per API key: writes and scans get 429 + Retry-After beyond the configured rate."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from ulid import ULID

from api.app import create_app
from api.ratelimit import RateLimitConfigError, RateLimits, TokenBucket
from tests.api.conftest import assert_problem


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def limited_client(settings, ledger, writes: int, scans: int, clock: Clock, peers: int = 0) -> TestClient:  # noqa: ANN001
    app = create_app(settings, ledger=ledger, rate_limits=RateLimits(writes, scans, peers))
    for middleware in app.user_middleware:  # the middleware stack is built on first request: inject the clock
        if middleware.cls.__name__ == "RateLimit":
            middleware.kwargs["clock"] = clock
    return TestClient(app, raise_server_exceptions=False)


def mark(world, maker: str = "it-beretta") -> dict:  # noqa: ANN001
    return world.envelope(maker, "mark_firearm", item=str(ULID()), marking=world.marking(maker))


def test_writes_beyond_the_rate_get_429_with_retry_after_and_append_nothing(settings, ledger, world, auth):
    clock = Clock()
    with limited_client(settings, ledger, writes=3, scans=0, clock=clock) as client:
        headers = auth("it-beretta")
        for _ in range(3):
            assert client.post("/v1/events", json=mark(world), headers=headers).status_code == 201
        size = ledger.size()
        refused = client.post("/v1/events", json=mark(world), headers=headers)
        body = assert_problem(refused, 429, "rate-limited")
        assert refused.headers["Retry-After"] == "20"  # 3 a minute: the next token in 20 s
        assert "3 writes requests a minute" in body["detail"]
        assert ledger.size() == size
        # the batch endpoint shares the writes bucket
        assert client.post("/v1/events:batch", json={"envelopes": [mark(world)]}, headers=headers).status_code == 429
        # another key has its own bucket
        assert client.post("/v1/events", json=mark(world, "at-glock"), headers=auth("at-glock")).status_code == 201
        clock.now += 20  # one token refilled
        assert client.post("/v1/events", json=mark(world), headers=headers).status_code == 201
        assert client.post("/v1/events", json=mark(world), headers=headers).status_code == 429
        # reads are never limited
        for _ in range(10):
            assert client.get("/v1/checkpoint", headers=headers).status_code == 200


def test_scans_have_their_own_limit(settings, ledger, world, auth):
    clock = Clock()
    uid = world.firearm()
    with limited_client(settings, ledger, writes=0, scans=2, clock=clock) as client:
        headers = auth("de-customs")
        scan = {"code": uid, "country": "DE", "location": "FRA", "direction": "import"}
        assert client.post("/v1/scan", json=scan, headers=headers).status_code == 200
        assert client.post("/v1/scan", json=scan, headers=headers).status_code == 200
        refused = client.post("/v1/scan", json=scan, headers=headers)
        assert_problem(refused, 429, "rate-limited")
        assert refused.headers["Retry-After"] == "30"
        # writes are off (0): never limited
        for _ in range(5):
            assert client.post("/v1/events", json=mark(world), headers=auth("it-beretta")).status_code == 201


def test_peer_logs_are_limited_per_address_on_every_federation_route(settings, ledger, world, auth):
    clock = Clock()
    uid = world.firearm()
    with limited_client(settings, ledger, writes=0, scans=0, peers=2, clock=clock) as client:
        assert client.get("/federation/v1/peers").status_code == 200
        assert client.get("/federation/v1/hello").status_code == 401  # unsigned: refused, and counted
        refused = client.post("/federation/v1/hits", json={})
        body = assert_problem(refused, 429, "rate-limited")
        assert "this address may make 2 federation requests a minute" in body["detail"] and refused.headers["Retry-After"] == "30"
        # an API key does not buy a peer more; the log's own routes are not counted
        assert client.get("/federation/v1/peers", headers=auth("de-customs")).status_code == 429
        scan = {"code": uid, "country": "DE", "location": "FRA", "direction": "import"}
        assert client.post("/v1/scan", json=scan, headers=auth("de-customs")).status_code == 200


def test_the_limits_come_from_the_environment():
    assert RateLimits.from_env({"TRACEMARK_RATE_LIMIT_WRITES": "120", "TRACEMARK_RATE_LIMIT_SCANS": "0",
                                "TRACEMARK_RATE_LIMIT_PEERS": "60"}) == RateLimits(120, 0, 60)
    assert RateLimits.from_env({}) == RateLimits()
    with pytest.raises(RateLimitConfigError, match="TRACEMARK_RATE_LIMIT_SCANS must be a whole number.*'fast'"):
        RateLimits.from_env({"TRACEMARK_RATE_LIMIT_SCANS": "fast"})


def test_a_bucket_refills_at_its_rate_up_to_its_capacity():
    bucket = TokenBucket(60, now=0.0)
    assert [bucket.take(0.0) for _ in range(60)] == [0.0] * 60
    assert bucket.take(0.0) == pytest.approx(1.0)
    assert bucket.take(0.5) == pytest.approx(0.5)
    assert bucket.take(1000.0) == 0.0  # refilled, but never beyond 60
    assert sum(bucket.take(1000.0) == 0.0 for _ in range(100)) == 59
