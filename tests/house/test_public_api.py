"""The core's public API: what `ledger` exports exists, and every error it can raise is a `LedgerError`,
so a caller that catches that one class catches them all."""

from __future__ import annotations

import inspect

import pytest

import ledger
from ledger import errors
from ledger.anchoring import results


def test_every_exported_name_exists() -> None:
    missing = [name for name in ledger.__all__ if not hasattr(ledger, name)]
    assert not missing and len(set(ledger.__all__)) == len(ledger.__all__)


@pytest.mark.parametrize("module", [errors, results])
def test_every_error_of_the_core_is_a_ledger_error(module: object) -> None:
    classes = [cls for _, cls in inspect.getmembers(module, inspect.isclass)
               if issubclass(cls, Exception) and cls.__module__ == module.__name__]  # type: ignore[attr-defined]
    assert classes
    internal = {errors.AppendLockBusy}  # a retry signal inside the append path, never raised to a caller
    assert all(issubclass(cls, ledger.LedgerError) for cls in classes if cls not in internal), classes


def test_the_hierarchy_callers_rely_on() -> None:
    assert issubclass(ledger.RuleViolation, ledger.LedgerError)
    assert issubclass(ledger.SignatureError, ledger.LedgerError)
    assert issubclass(ledger.EventInvalid, ledger.LedgerError)
    assert issubclass(ledger.NotFound, ledger.LedgerError)
    assert issubclass(ledger.ProofError, ledger.LedgerError)
    assert issubclass(ledger.AnchorConfigError, ledger.AnchorError) and issubclass(ledger.AnchorError, ledger.LedgerError)
    assert issubclass(ledger.ContractReverted, ledger.AnchorError)
    assert issubclass(ledger.EventFailed, ledger.LedgerError)
    exported_errors = {name for name in ledger.__all__ if isinstance(getattr(ledger, name), type)
                       and issubclass(getattr(ledger, name), Exception)}
    assert all(issubclass(getattr(ledger, name), ledger.LedgerError) for name in exported_errors)
