"""`GET /v1/me`: the party an API key speaks for, so a page can greet the caller and fill in its country."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.access import SCANNERS, CallerDep

__all__ = ["router", "MeOut"]

router = APIRouter(prefix="/v1", tags=["parties"])


class MeOut(BaseModel):
    id: str = Field(description="the party's id")
    name: str
    role: str
    country: str = Field(description="the party's country, ISO 3166-1 alpha-2: where its scans happen")
    scans: bool = Field(description="whether this key may scan (`POST /v1/scan`): customs and police")


@router.get("/me", response_model=MeOut, summary="The party of the calling API key: name, role, country")
def me(caller: CallerDep) -> MeOut:
    return MeOut(id=caller.id, name=caller.name, role=caller.role, country=caller.country, scans=caller.role in SCANNERS.roles)
