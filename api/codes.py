"""What a scanned or typed code names: a QR URL, a bare item id, or a serial.

QR payloads are `HTTPS://<HOST>/I/<ITEM-ID>/<FACTS>/<SIGNATURE>` in upper case (QR alphanumeric
mode). This module only finds the item id and keeps the other segments; verifying the facts and
signature belongs to `scanner.payload` and is passed to the scan as a `MarkingVerifier`. FACTS
may hold `/` (a serial's, in older codes), so the signature is the last segment.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from ledger.store.tables import Item

__all__ = ["ResolvedCode", "MalformedCode", "resolve_code", "MarkingVerifier"]

_ULID = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"
_URL = re.compile(rf"^HTTPS?://[A-Z0-9.-]+(?::[0-9]{{1,5}})?/I/({_ULID})(?:/(.*?))?/?$")
_BARE_ULID = re.compile(rf"^{_ULID}$")
_SERIAL = re.compile(r"^[A-Z0-9][A-Z0-9./-]{0,39}$")

MarkingVerifier = Callable[["ResolvedCode", Item], bool]
"""Checks a QR code's facts and signature against the item; True when they verify."""


class MalformedCode(ValueError):
    """The code is none of the forms a scan accepts; the message says what is wrong with it."""


@dataclass(frozen=True)
class ResolvedCode:
    raw: str
    uid: str | None = None  # from a QR URL or a bare item id
    serial: str | None = None  # a typed serial
    facts: str | None = None  # the QR's facts segment, as printed
    signature: str | None = None  # the QR's signature segment, as printed


def resolve_code(code: str) -> ResolvedCode:
    """Parse a scanned or typed code; refuse invisible, non-ASCII or look-alike characters outright.

    Silently dropping a zero-width space or folding a Cyrillic letter would let a forged
    serial match a real one, so any such character makes the code malformed.
    """
    text = code.strip()
    for position, char in enumerate(text):
        if not (" " <= char <= "~"):
            name = unicodedata.name(char, "unnamed")
            raise MalformedCode(f"character U+{ord(char):04X} ({name}) at position {position} is not printable ASCII")
    if not text:
        raise MalformedCode("the code is empty")
    upper = text.upper()
    url = _URL.match(upper)
    if url is not None:
        facts, signature = _segments(url.group(2))
        return ResolvedCode(raw=code, uid=url.group(1), facts=facts, signature=signature)
    if upper.startswith(("HTTP://", "HTTPS://")):
        raise MalformedCode("a URL but not a Tracemark item code (HTTPS://<HOST>/I/<ITEM-ID>/...)")
    if _BARE_ULID.match(upper):
        return ResolvedCode(raw=code, uid=upper, serial=upper)  # a serial may look like an id
    if _SERIAL.match(upper):
        return ResolvedCode(raw=code, serial=upper)
    raise MalformedCode(f"{text[:60]!r} is neither an item code, an item id nor a serial (A-Z 0-9 . / -, at most 40)")


def _segments(rest: str | None) -> tuple[str | None, str | None]:
    """The facts and the signature after the item id: the signature is the last segment."""
    if not rest:
        return None, None
    facts, sep, signature = rest.rpartition("/")
    return (facts, signature) if sep else (rest, None)
