"""Rate limits per API key on the write and scan endpoints, and per address on the routes peer logs
call (`/federation/`): a token bucket per key or address, in process.

Each key may make `rate` requests a minute, in bursts of up to `rate`; beyond that it gets 429
problem+json with `Retry-After` (seconds until its next request is admitted). The buckets live
in the API process: with several API processes behind one address each keeps its own, so a key
may make up to `rate` x processes requests a minute; put a shared limiter in front when that matters.
A key's bucket is found by the key that `api.credentials` authenticated, never by what a header
claims; requests without a valid key share one bucket per client address.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from api.credentials import api_key_of
from api.problems import problem

__all__ = ["RateLimits", "RateLimit", "RateLimitConfigError", "TokenBucket", "ENV_WRITES", "ENV_SCANS", "ENV_PEERS"]

ENV_WRITES = "TRACEMARK_RATE_LIMIT_WRITES"
ENV_SCANS = "TRACEMARK_RATE_LIMIT_SCANS"
ENV_PEERS = "TRACEMARK_RATE_LIMIT_PEERS"
DEFAULT_WRITES = 600
DEFAULT_SCANS = 600
DEFAULT_PEERS = 6000
"""A peer log's requests come from one address for all of its border posts: a hundred a second."""
MAX_BUCKETS = 100_000  # beyond this, buckets that have refilled (idle keys) are dropped

WRITES = {("POST", "/v1/events"), ("POST", "/v1/events:batch"), ("POST", "/scan/seize"), ("POST", "/v1/admin/api-keys")}
WRITE_PREFIXES = (("DELETE", "/v1/admin/api-keys/"),)
SCANS = {("POST", "/v1/scan")}
FEDERATION_PREFIX = "/federation/"


class RateLimitConfigError(ValueError):
    """A rate limit setting that is not a whole number of requests per minute >= 0."""


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute per API key (per address for the federation routes); 0 turns a limit off."""

    writes_per_minute: int = DEFAULT_WRITES
    scans_per_minute: int = DEFAULT_SCANS
    peers_per_minute: int = DEFAULT_PEERS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RateLimits:
        env = os.environ if environ is None else environ
        return cls(_per_minute(env, ENV_WRITES, DEFAULT_WRITES), _per_minute(env, ENV_SCANS, DEFAULT_SCANS),
                   _per_minute(env, ENV_PEERS, DEFAULT_PEERS))


def _per_minute(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise RateLimitConfigError(f"{name} must be a whole number of requests per minute (0: no limit), got {text!r}")
    return int(text)


class TokenBucket:
    """`capacity` tokens, refilled at `per_minute` a minute; each admitted request takes one."""

    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.tokens = self.capacity
        self.updated = now

    def take(self, now: float) -> float:
        """Take a token: 0.0 when admitted, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def full(self, now: float) -> bool:
        return self.tokens + (now - self.updated) * self.rate >= self.capacity


class RateLimit:
    """ASGI middleware applying `limits` to the write and scan endpoints, before the body is read."""

    def __init__(self, app: ASGIApp, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.limits = {"writes": limits.writes_per_minute, "scans": limits.scans_per_minute, "federation": limits.peers_per_minute}
        self.clock = clock
        self.buckets: dict[tuple[str, str], TokenBucket] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = _kind(scope)
        per_minute = self.limits.get(kind, 0) if kind else 0
        if not per_minute:
            await self.app(scope, receive, send)
            return
        assert kind is not None
        caller = _address(scope) if kind == "federation" else _caller(scope)
        key = (kind, caller)
        now = self.clock()
        bucket = self.buckets.get(key)
        if bucket is None:
            self._prune(now)
            bucket = self.buckets[key] = TokenBucket(per_minute, now)
        wait = bucket.take(now)
        if wait == 0.0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        response = problem(None, 429, "rate-limited", "Too many requests",
                           f"{_who(caller, kind)} may make {per_minute} {kind} requests a minute; retry in {retry} s")
        response.headers["Retry-After"] = str(retry)
        await response(scope, receive, send)

    def _prune(self, now: float) -> None:
        if len(self.buckets) >= MAX_BUCKETS:
            for key in [k for k, b in self.buckets.items() if b.full(now)]:
                del self.buckets[key]


def _kind(scope: Scope) -> str | None:
    if scope["type"] != "http":
        return None
    route = (scope.get("method", ""), scope.get("path", "").rstrip("/") or "/")
    if route in WRITES or any(route[0] == m and route[1].startswith(p) for m, p in WRITE_PREFIXES):
        return "writes"
    if route in SCANS:
        return "scans"
    if route[1].startswith(FEDERATION_PREFIX):
        return "federation"
    return None


def _caller(scope: Scope) -> str:
    """The bucket of the request: its authenticated API key, else the client's address."""
    key_id = api_key_of(scope)
    return "key:" + key_id if key_id is not None else _address(scope)


def _address(scope: Scope) -> str:
    """The bucket of the client's address: a peer log signs its requests with no API key."""
    client = scope.get("client")
    return f"addr:{client[0] if client else '?'}"


def _who(caller: str, kind: str) -> str:
    if caller.startswith("key:"):
        return "this API key"
    return "this address" if kind == "federation" else "a client without a valid API key"
