"""Request dependencies: the ledger, the settings and the calling party, as `Annotated` types.

Those that only look something up are `async`: FastAPI runs a plain `def` dependency in the
thread pool, a hand-over per dependency per request. The caller's lookup reads the database,
so it stays a `def` and never holds up the event loop.
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


def get_caller(request: Request, ledger: LedgerDep, _: Annotated[object, Depends(bearer)] = None) -> Party:
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
