"""The nonces of peers' signed requests, kept in the database until their signatures expire.

A signed request is valid for `signing.WINDOW` seconds; within that window the same request sent
again (a replay by anyone who saw it) carries the same nonce and is refused. The table is shared by
every server process of the log, so a replay to another worker is caught too, and rows whose
signature has expired are dropped as new ones arrive.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ledger.federation.errors import MessageSignatureError
from ledger.federation.signing import SKEW, VerifiedRequest
from ledger.store.ledger import Ledger
from ledger.store.tables import SeenNonce

__all__ = ["remember_nonce"]

_SEEN = SeenNonce.__table__  # type: ignore[attr-defined]


def remember_nonce(ledger: Ledger, signed: VerifiedRequest, now: float | None = None) -> None:
    """Keep the request's nonce until it expires; MessageSignatureError if it was kept already (a replay)."""
    moment = int(time.time() if now is None else now)
    try:
        with Session(ledger.db.writer) as session, session.begin():
            session.execute(delete(_SEEN).where(_SEEN.c.expires < moment - SKEW))
            session.execute(insert(_SEEN).values(keyid=signed.keyid, nonce=signed.nonce, expires=signed.expires))
    except IntegrityError as exc:
        raise MessageSignatureError(f"replayed: a request from {signed.keyid} with nonce {signed.nonce!r} was received already") from exc
