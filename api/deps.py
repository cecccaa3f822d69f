"""Request dependencies: the ledger, the settings and the calling party, as `Annotated` types.

All are `async`: FastAPI runs a plain `def` dependency in the thread pool, a hand-over per
dependency per request. The caller's lookup is one read of the API key by its primary key, and it
runs on the event loop too. In a worker thread it cost more than the read: the thread must win the
GIL back from the loop and the group-commit thread after every driver call, and HTTP appends ran
at 280/s against 446/s with the read on the loop (16 clients, SQLite). A database that stalls
stalls the loop with it; every route needs that database in any case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from api.errors import Forbidden
from api.keys import authenticate
from ledger.config import Settings
from ledger.store import Ledger
from ledger.tables import Party

__all__ = ["LedgerDep", "SettingsDep", "CallerDep", "require", "bearer"]

bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer tmk_...`")


async def get_ledger(request: Request) -> Ledger:
    return request.app.state.ledger


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_caller(request: Request, ledger: LedgerDep, _: Annotated[object, Depends(bearer)] = None) -> Party:
    """The party whose API key signs this request (the `bearer` scheme documents it in OpenAPI)."""
    return authenticate(ledger, request.headers.get("authorization"))


CallerDep = Annotated[Party, Depends(get_caller)]


def require(*roles: str) -> Callable[[Party], Party]:
    """A dependency admitting only callers of `roles`."""

    async def check(caller: CallerDep) -> Party:
        if caller.role not in roles:
            raise Forbidden(f"a {caller.role} may not call this; only {' or '.join(roles)}")
        return caller

    return check
