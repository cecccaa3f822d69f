"""Request dependencies: the ledger, the settings and the calling party, as `Annotated` types.

All are `async`: FastAPI runs a plain `def` dependency in the thread pool, a hand-over per
dependency per request. The caller's lookup is one read of the API key by its primary key, and it
runs on the event loop too. In a worker thread it cost more than the read: the thread must win the
GIL back from the loop and the group-commit thread after every driver call, and HTTP appends ran
at 280/s against 446/s with the read on the loop (16 clients, SQLite). A database that stalls
stalls the loop with it; every route needs that database in any case. `run_reads` puts a route's
own reads on the loop too, on SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from api.credentials import request_caller
from api.errors import Forbidden
from ledger.config import Settings
from ledger.store import Ledger
from ledger.tables import Party

__all__ = ["LedgerDep", "SettingsDep", "CallerDep", "require", "caller_in", "BEARER_SECURITY", "bearer", "run_reads"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer tmk_...`")
BEARER_SECURITY = {"security": [{bearer.scheme_name: []}]}
"""The `openapi_extra` of a route that calls `caller_in` itself: what a `require` dependency documents."""


async def get_ledger(request: Request) -> Ledger:
    return request.app.state.ledger


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_caller(request: Request, _: Annotated[object, Depends(bearer)] = None) -> Party:
    """The party whose API key signs this request (the `bearer` scheme documents it in OpenAPI)."""
    return request_caller(request)


CallerDep = Annotated[Party, Depends(get_caller)]


def require(*roles: str) -> Callable[[Party], Party]:
    """A dependency admitting only callers of `roles`."""

    async def check(caller: CallerDep) -> Party:
        return _admitted(caller, roles)

    return check


def caller_in(request: Request, roles: tuple[str, ...]) -> Party:
    """The calling party, admitted only in `roles`: `require` for a route that takes the request alone (api.lean)."""
    return _admitted(request_caller(request), roles)


def _admitted(caller: Party, roles: tuple[str, ...]) -> Party:
    if caller.role not in roles:
        raise Forbidden(f"a {caller.role} may not call this; only {' or '.join(roles)}")
    return caller


async def run_reads(ledger: Ledger, reads: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """`reads(*args)` where it costs least: on the event loop for SQLite, in a worker thread otherwise.

    SQLite reads are local CPU work of microseconds; in a worker thread a scan's reads cost five
    times their own CPU (0.24 ms alone, 1.2 ms there), the thread winning the GIL back from the
    loop after every driver call. PostgreSQL's reads wait on the network, which must not stall the loop.
    """
    if ledger.db.is_sqlite:
        return reads(*args, **kwargs)
    return await asyncio.to_thread(reads, *args, **kwargs)
