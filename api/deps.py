"""Request dependencies: the ledger and the settings, as `Annotated` types (the caller is `api.access`'s).

All are `async`, as is `api.access.admission`: FastAPI runs a plain `def` dependency in the thread pool, a hand-over per
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

from ledger import Ledger, Settings

__all__ = ["LedgerDep", "SettingsDep", "run_reads"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


async def get_ledger(request: Request) -> Ledger:
    return request.app.state.ledger


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def run_reads(ledger: Ledger, reads: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """`reads(*args)` where it costs least: on the event loop for SQLite, in a worker thread otherwise.

    SQLite reads are local CPU work of microseconds; in a worker thread a scan's reads cost five
    times their own CPU (0.24 ms alone, 1.2 ms there), the thread winning the GIL back from the
    loop after every driver call. PostgreSQL's reads wait on the network, which must not stall the loop.
    """
    if ledger.db.is_sqlite:
        return reads(*args, **kwargs)
    return await asyncio.to_thread(reads, *args, **kwargs)
