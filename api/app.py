"""The FastAPI application factory: nothing is built at import time, so each test brings its own ledger."""

from __future__ import annotations

import gc
import os
import threading

from fastapi import APIRouter, FastAPI

from api import access, lean
from api.credentials import Credentials
from api.judging import MarkingVerifier
from api.kept_tiles import KeptTiles
from api.limits import DEFAULT_MAX_BODY, BodyLimit
from api.metrics import Metrics, RequestMetrics
from api.problems import PROBLEM_RESPONSES, install
from api.ratelimit import RateLimit, RateLimits
from api.routes import (
    camera,
    checkpoint,
    docs,
    entries,
    events,
    federation,
    health,
    investigations,
    item_proof,
    items,
    keys,
    me,
    pages,
    parties,
    permits,
    proofs,
    questions,
    scan,
    tiles,
    trace_request_page,
    trace_requests,
    witness,
)
from ledger import Courier, FreshAnswers, Ledger, LedgerError, LocalAccount, Settings, StoreError, cache_ttl, open_ledger, status_max_age, verifier_key_id
from scanner.logs import LocalLog, ledger_log_id
from scanner.payload import DEFAULT_HOST, normal_host

__all__ = ["create_app", "local_log", "app_from_env", "freeze_startup_heap", "ROUTERS", "LEAN"]

ROUTERS: list[APIRouter] = [
    events.router,
    items.router,
    item_proof.router,
    permits.router,
    parties.router,
    proofs.router,
    checkpoint.router,
    entries.router,
    scan.router,
    keys.router,
    pages.router,
    health.router,
    investigations.router,
    camera.router,
    docs.router,
    me.router,
    tiles.router,
    questions.router,
    witness.router,
    federation.router,
    trace_requests.router,
    trace_requests.federation_router,
    trace_request_page.router,
]
"""Every router of the service: add a feature's router here, one line, and its routes to `api.access.ACCESS`."""
LEAN: list[APIRouter] = [scan.router, tiles.router]
"""Routers whose routes admit their caller themselves (`api.access.admit`): the hot path, without dependencies."""


def create_app(
    settings: Settings,
    *,
    ledger: Ledger | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    marking_verifier: MarkingVerifier | None = None,
    rate_limits: RateLimits | None = None,
    public_host: str | None = None,
    courier: Courier | None = None,
) -> FastAPI:
    """The service over `settings`' ledger (or the given one, e.g. a test's with its own clock).

    `marking_verifier` checks a QR code's printed facts and signature (scanner.payload plugs in here).
    `rate_limits` default to $TRACEMARK_RATE_LIMIT_WRITES / _SCANS / _PEERS (api.ratelimit).
    `max_body` caps every route's body (api.limits has each route's own cap).
    `public_host` is the host this log's codes point to (default $TRACEMARK_PUBLIC_HOST, as for
    `tracemark labels`): a scanned code pointing elsewhere is refused.
    `courier` delivers this log's hit notices (`tracemark serve` runs it): a scan that queues one
    wakes it; without it (a worker process of `serve --workers N`) the courier's poll finds it.
    """
    ledger = ledger if ledger is not None else open_ledger(settings)
    app = FastAPI(
        title="Tracemark",
        version="1",
        docs_url=None,  # `api.routes.docs` serves /docs with its own assets, no CDN
        redoc_url=None,
        summary="Provenance ledger for marked firearms and CITES specimens: signed writes, proofs, border scans.",
    )
    app.state.settings = settings
    app.state.ledger = ledger
    app.state.marking_verifier = marking_verifier
    app.state.local_log = local_log(settings, ledger)
    app.state.public_host = normal_host(public_host or os.environ.get("TRACEMARK_PUBLIC_HOST") or DEFAULT_HOST)
    app.state.managed_keys = {}
    app.state.fresh_answers = FreshAnswers(cache_ttl())
    app.state.peer_status_max_age = status_max_age()  # read once: every cross-border scan judges by it
    app.state.courier = courier
    threading.Thread(target=_warm_desk, args=(app.state.managed_keys, settings), name="desk-key", daemon=True).start()
    app.state.metrics = Metrics(ledger)
    install(app)
    lean.install(app)
    for router in ROUTERS:
        app.include_router(router, responses=PROBLEM_RESPONSES, dependencies=[] if router in LEAN else [access.ADMITTED])
    access.install(app)
    app.add_middleware(BodyLimit, max_bytes=max_body)
    app.add_middleware(RateLimit, limits=rate_limits if rate_limits is not None else RateLimits.from_env())
    app.add_middleware(Credentials, ledger=ledger)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.add_middleware(KeptTiles)  # outermost: a kept full tile skips the rest
    return app


def _warm_desk(cache: dict[str, LocalAccount | None], settings: Settings) -> None:
    """Decrypt the federation desk's key now (scrypt is slow on purpose), not while a peer waits on its first request."""
    try:
        trace_requests.cached_desk(cache, settings)
    except LedgerError:
        pass  # no desk on this server: the routes that need it say so


def local_log(settings: Settings, ledger: Ledger) -> LocalLog | None:
    """The log this service speaks for, as codes name it: the key ID of its log key, else of the
    verifier key beside it (`Settings.verifier_key`); None for a service with neither."""
    key_id = ledger_log_id(ledger)
    if key_id is None:
        try:
            key_id = verifier_key_id(settings.verifier_key())
        except StoreError:
            return None
    return LocalLog.of(key_id)


def freeze_startup_heap() -> None:
    """Leave what a server built before its first request (modules, schemas, the app) out of every
    garbage collection from now on: the collector went over all of it again and again, about a
    tenth of a single append's time (measured: 478-487 -> 516-567 appends/s over HTTP)."""
    gc.collect()
    gc.freeze()


def app_from_env() -> FastAPI:
    """The production app of one server process, built from $TRACEMARK_DB / $TRACEMARK_HOME / $TRACEMARK_ORIGIN.

    `tracemark serve --workers N` starts N processes that each call this (uvicorn's factory):
    each has its own ledger and group commit, and the database's append lock orders them.
    """
    from scanner.claims import marking_verifier

    settings = Settings.from_env()
    ledger = open_ledger(settings)
    app = create_app(settings, ledger=ledger, marking_verifier=marking_verifier(ledger))
    freeze_startup_heap()
    return app
