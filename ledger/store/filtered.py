"""Values a query's `IS NOT NULL` filter guarantees, narrowed from the column's Optional type."""

from __future__ import annotations

from typing import TypeVar

from ledger.errors import StoreError

__all__ = ["not_null"]

T = TypeVar("T")


def not_null(value: T | None, column: str) -> T:
    """`value`, which the query filtered to be present: a NULL here means the store is broken."""
    if value is None:
        raise StoreError(f"{column} is NULL in a row whose query excludes NULL")
    return value
