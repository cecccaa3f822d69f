"""Code lists the ledger validates: ISO 3166 countries and the CITES appendix, source and purpose codes."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache

import pycountry

from ledger.errors import EventInvalid

__all__ = [
    "CITES_APPENDICES",
    "CITES_SOURCES",
    "CITES_PURPOSES",
    "FIREARM_CATEGORIES",
    "country",
    "quantity",
    "QUANTITY_MAX_CHARS",
    "QUANTITY_MAX_INTEGER_DIGITS",
    "QUANTITY_MAX_DECIMALS",
]

CITES_APPENDICES = {"I", "II", "III"}

# CITES Res. Conf. 12.3 (Rev. CoP19) Annex: source codes.
CITES_SOURCES = {
    "W": "taken from the wild",
    "X": "taken in the marine environment not under any State's jurisdiction",
    "R": "ranched",
    "D": "Appendix-I animal bred in captivity for commercial purposes / plant artificially propagated",
    "A": "plant artificially propagated",
    "C": "animal bred in captivity",
    "F": "animal born in captivity (F1 or subsequent)",
    "Y": "assisted production",
    "U": "source unknown",
    "I": "confiscated or seized",
    "O": "pre-Convention",
}

# CITES Res. Conf. 12.3 Annex: purpose-of-transaction codes.
CITES_PURPOSES = {
    "B": "breeding in captivity or artificial propagation",
    "E": "educational",
    "G": "botanical garden",
    "H": "hunting trophy",
    "L": "law enforcement / judicial / forensic",
    "M": "medical (including biomedical research)",
    "N": "reintroduction or introduction into the wild",
    "P": "personal",
    "Q": "circus or travelling exhibition",
    "S": "scientific",
    "T": "commercial",
    "Z": "zoo",
}

# EU Directive 2021/555 Annex I firearm categories.
FIREARM_CATEGORIES = {"A", "B", "C"}


def country(code: str, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased; EventInvalid naming the field otherwise."""
    if not isinstance(code, str) or len(code) != 2 or not code.isascii():
        raise EventInvalid(f"not an ISO 3166-1 alpha-2 country code: {code!r}", field)
    if not _assigned(code.upper()):
        raise EventInvalid(f"unknown ISO 3166-1 country code: {code!r}", field)
    return code.upper()


@cache
def _assigned(alpha_2: str) -> bool:
    """Remembered (at most 26 x 26 answers): every event names a country or two, and pycountry's
    lookup cost a tenth of parsing one."""
    return pycountry.countries.get(alpha_2=alpha_2) is not None


QUANTITY_MAX_CHARS = 32
QUANTITY_MAX_INTEGER_DIGITS = 12
QUANTITY_MAX_DECIMALS = 6
"""A quantity is written in at most 32 characters and is below 10^12 with at most 6 decimal places:
every sum and difference of quantities is then exact in Python's default decimal context, where an
exponent such as 1E+1000000 overflows."""


def quantity(text: str, field: str = "quantity") -> Decimal:
    """A positive, bounded decimal quantity written as a string (floats never enter signed data)."""
    if not isinstance(text, str) or len(text) > QUANTITY_MAX_CHARS:
        raise EventInvalid(f"not a decimal quantity of at most {QUANTITY_MAX_CHARS} characters: {str(text)[:QUANTITY_MAX_CHARS]!r}", field)
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise EventInvalid(f"not a decimal quantity: {text!r}", field) from exc
    if not value.is_finite() or value <= 0:
        raise EventInvalid(f"quantity must be positive: {text!r}", field)
    if value.adjusted() >= QUANTITY_MAX_INTEGER_DIGITS:
        raise EventInvalid(f"quantity must be below 10^{QUANTITY_MAX_INTEGER_DIGITS}: {text!r}", field)
    if value.as_tuple().exponent < -QUANTITY_MAX_DECIMALS:  # type: ignore[operator]
        raise EventInvalid(f"at most {QUANTITY_MAX_DECIMALS} decimal places: {text!r}", field)
    return value
