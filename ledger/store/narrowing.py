"""SQLModel's loose types narrowed to what the store knows: values it never leaves NULL, a model's table."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Table

from ledger.errors import StoreError

__all__ = ["not_null", "table_of"]

T = TypeVar("T")


def not_null(value: T | None, column: str) -> T:
    """`value` of an Optional column the store guarantees here (a stored row's key, a column the
    query filtered with IS NOT NULL): a NULL means the store is broken."""
    if value is None:
        raise StoreError(f"{column} is NULL where the store guarantees a value")
    return value


def table_of(model: type) -> Table:
    """The `Table` SQLModel made for a table model (its `__table__`, which SQLModel does not type)."""
    table = getattr(model, "__table__", None)
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table
