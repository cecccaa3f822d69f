"""Prometheus metrics: request counts and latencies per route, the log's size and checkpoint age."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger import Ledger, parse_time

__all__ = ["Metrics", "RequestMetrics"]


class _LogCollector:
    """Read at scrape time, so the numbers are those of the database, whichever process appended."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def collect(self) -> Iterator[Metric]:
        size = GaugeMetricFamily("tracemark_log_size", "entries in the log")
        size.add_metric([], self.ledger.size())
        yield size
        latest = self.ledger.latest_checkpoint()
        age = GaugeMetricFamily("tracemark_checkpoint_age_seconds", "seconds since the latest signed checkpoint")
        if latest is not None:
            age.add_metric([], (self.ledger.clock() - parse_time(latest.created_at)).total_seconds())
        yield age


class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self, ledger: Ledger) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("tracemark_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("tracemark_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                                 registry=self.registry)
        self.registry.register(_LogCollector(ledger))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """ASGI middleware counting requests by route template (not raw path, which would explode labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - start)
