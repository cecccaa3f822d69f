"""Narrowing SQLModel's Optional values and untyped tables to what the store guarantees."""

from __future__ import annotations

import pytest

from ledger.errors import StoreError
from ledger.store.narrowing import not_null, table_of
from ledger.store.tables import Diversion, Entry


def test_not_null_passes_a_value_and_names_the_column_of_a_null() -> None:
    assert not_null(0, "checkpoint.id") == 0  # a falsy value is still a value
    with pytest.raises(StoreError, match="checkpoint.anchor_index is NULL"):
        not_null(None, "checkpoint.anchor_index")


def test_table_of_a_model_is_its_table_and_anything_else_is_refused() -> None:
    assert table_of(Entry).name == "entry"
    assert table_of(Diversion).c.uid.primary_key
    with pytest.raises(TypeError, match="str is not a table model"):
        table_of(str)
