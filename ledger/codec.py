"""Canonical bytes: RFC 8785 (JCS) for everything that is hashed or signed."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

import rfc8785

from ledger.errors import EventInvalid

__all__ = ["canonical", "sha256", "utc_now", "format_time", "parse_time"]


def canonical(value: Any) -> bytes:
    """The RFC 8785 bytes of a JSON value; floats are refused because they do not round-trip."""
    _refuse_floats(value)
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise EventInvalid(f"cannot canonicalise: {exc}") from exc


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise EventInvalid("floats are not allowed in signed data; use a decimal string")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _refuse_floats(item)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with millisecond precision and a Z: the one time format inside signed data."""
    if moment.tzinfo is None:
        raise EventInvalid("naive datetimes are not allowed; give a timezone")
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str, field: str = "time") -> datetime:
    """Parse an RFC 3339 time that carries a timezone; refuse naive ones."""
    if not isinstance(text, str):
        raise EventInvalid("must be an RFC 3339 time string", field)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise EventInvalid(f"not an RFC 3339 time: {text!r}", field) from exc
    if moment.tzinfo is None:
        raise EventInvalid(f"time without timezone: {text!r}", field)
    return moment.astimezone(timezone.utc)
