"""Admin endpoints for API keys: create (the token is shown once), list, revoke (admins only: `api.access`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import LedgerDep
from api.keys import create_api_key, list_api_keys, revoke_api_key
from api.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/admin/api-keys", tags=["admin"])


@router.post("", status_code=201, response_model=ApiKeyIssued, summary="Create an API key for a party")
def create(body: ApiKeyCreate, ledger: LedgerDep) -> ApiKeyIssued:
    issued = create_api_key(ledger, body.party, body.label)
    row = next(k for k in list_api_keys(ledger, body.party) if k.id == issued.id)
    return ApiKeyIssued(**row.model_dump(exclude={"secret_hash"}), token=issued.token)


@router.get("", response_model=list[ApiKeyOut], summary="List API keys (never their secrets)")
def list_keys(ledger: LedgerDep,
              party: Annotated[str | None, Query(max_length=64)] = None) -> list[ApiKeyOut]:
    return [ApiKeyOut(**k.model_dump(exclude={"secret_hash"})) for k in list_api_keys(ledger, party)]


@router.delete("/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
def revoke(ledger: LedgerDep, key_id: str = Path(min_length=1, max_length=64)) -> ApiKeyOut:
    return ApiKeyOut(**revoke_api_key(ledger, key_id).model_dump(exclude={"secret_hash"}))
