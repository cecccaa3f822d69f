"""API keys: random bearer tokens of a party, stored as SHA-256 hashes, revocable.

A token is `tmk_<id>_<secret>`: the id finds the row, the secret is compared to its hash in
constant time. The secret has 256 bits of entropy, so a plain SHA-256 is enough (no slow KDF).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam
from sqlmodel import select

from api.errors import KeyNotFound, Unauthorized
from ledger import ApiKey, Ledger, Party, format_time

__all__ = ["IssuedKey", "create_api_key", "revoke_api_key", "caller_of", "list_api_keys"]

_TOKEN = re.compile(r"^tmk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_PARTY_COLUMNS = tuple(Party.__table__.columns)  # type: ignore[attr-defined]
_KEY_AND_PARTY = (select(ApiKey.secret_hash, ApiKey.revoked_at, ApiKey.party_id, *_PARTY_COLUMNS)
                  .outerjoin(Party, Party.id == ApiKey.party_id).where(ApiKey.id == bindparam("key_id")))
"""Every request reads its key (a revocation holds at once, in every process) and party in one statement."""


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `token` is shown once and never stored."""

    id: str
    party_id: str
    label: str
    token: str


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_api_key(ledger: Ledger, party_id: str, label: str = "") -> IssuedKey:
    """Make a key for a registered party (NotFound if the party is not on the log)."""
    ledger.party(party_id)
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with ledger.writing() as session:
        session.add(ApiKey(id=key_id, party_id=party_id, secret_hash=_hash(secret), label=label,
                           created_at=format_time(ledger.clock())))
    return IssuedKey(id=key_id, party_id=party_id, label=label, token=f"tmk_{key_id}_{secret}")


def revoke_api_key(ledger: Ledger, key_id: str) -> ApiKey:
    """Revoke a key from now on; revoking a revoked key keeps the first revocation time."""
    with ledger.writing() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise KeyNotFound(f"no API key {key_id!r}")
        if row.revoked_at is None:
            row.revoked_at = format_time(ledger.clock())
        return row


def list_api_keys(ledger: Ledger, party_id: str | None = None) -> list[ApiKey]:
    with ledger.reading() as session:
        query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        if party_id is not None:
            query = query.where(ApiKey.party_id == party_id)
        return list(session.exec(query))


def caller_of(ledger: Ledger, authorization: str | None) -> Party:
    """The party behind an `Authorization: Bearer <token>` header; Unauthorized says why not."""
    if not authorization:
        raise Unauthorized("no API key: send `Authorization: Bearer tmk_...`")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(f"the Authorization header must use the Bearer scheme, got {scheme[:20]!r}")
    match = _TOKEN.match(token.strip())
    if match is None:
        raise Unauthorized("the API key is not a Tracemark key (tmk_<id>_<secret>)")
    key_id, secret = match.groups()
    found = ledger.db.fetch_one(_KEY_AND_PARTY, {"key_id": key_id})
    if found is None or not hmac.compare_digest(bytes(found[0]), _hash(secret)):
        raise Unauthorized("unknown API key")
    revoked_at, party_id, party = found[1], found[2], found[3:]
    if revoked_at is not None:
        raise Unauthorized(f"API key {key_id} was revoked at {revoked_at}")
    if party[0] is None:
        raise Unauthorized(f"API key {key_id} belongs to {party_id}, which is not on the log")
    return _party(tuple(party))


@lru_cache(maxsize=4096)
def _party(values: tuple[object, ...]) -> Party:
    """The caller's party as a row, built once per distinct row: validating a SQLModel row cost a
    sixth of a single append's time on the event loop. Requests share it, so nothing may change it."""
    return Party(**{column.key: value for column, value in zip(_PARTY_COLUMNS, values, strict=True)})
