"""What anchoring reports: its errors and its results, with no web3 import.

Split from `ledger.anchoring.contract` (the one module that imports web3) so the anchoring worker and the
chain audit can name these types without loading a chain client; `ledger.anchoring.contract` re-exports
every name here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from ledger.errors import LedgerError

__all__ = [
    "Anchor",
    "AnchorConfigError",
    "AnchorError",
    "AnchorPending",
    "AnchorReceipt",
    "AnchorUnavailable",
    "ArtifactError",
    "ContractReverted",
    "IndexOutOfRangeError",
    "NoCheckpointError",
    "NotLedgerAnchor",
    "NotLogSubmitterError",
    "NotOwnerError",
    "NotSubmitterError",
    "SizeDecreasedError",
    "SubmitterChange",
    "TransactionFailed",
]

_T = TypeVar("_T")


# --- errors -----------------------------------------------------------------------------


class AnchorError(LedgerError):
    """Base class of every anchoring failure."""


class AnchorConfigError(AnchorError):
    """The anchoring configuration is incomplete or its keystore cannot be opened."""


class ArtifactError(AnchorError):
    """The compiled contract artifact is missing or malformed."""


class AnchorUnavailable(AnchorError):
    """The node cannot be reached or did not answer in time; retrying later may succeed."""


class AnchorPending(AnchorUnavailable):
    """A transaction was sent but no receipt was seen in time; it may still be mined."""

    def __init__(self, tx_hash: str, timeout: float) -> None:
        super().__init__(f"no receipt for transaction {tx_hash} after {timeout:g} s")
        self.tx_hash = tx_hash
        self.timeout = timeout


class NotLedgerAnchor(AnchorError):
    """The code at the configured address is not the artifact's LedgerAnchor."""


class TransactionFailed(AnchorError):
    """The node refused a transaction, or it was mined and reverted."""

    def __init__(self, detail: str, tx_hash: str | None = None) -> None:
        super().__init__(detail if tx_hash is None else f"{detail} (transaction {tx_hash})")
        self.detail = detail
        self.tx_hash = tx_hash


class ContractReverted(AnchorError):
    """The contract refused a call; `error` and `fields` are its decoded custom error."""

    def __init__(self, error: str, args: Mapping[str, Any], data: str | None = None) -> None:
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        super().__init__(f"LedgerAnchor reverted: {error}({shown})")
        self.error = error
        self.fields = dict(args)
        self.data = data

    def _field(self, name: str, kind: type[_T]) -> _T:
        """A field of its ABI type, checked: eth_abi's decoder returns untyped values."""
        value = self.fields[name]
        if not isinstance(value, kind):
            raise TypeError(f"{self.error}'s field {name} is {type(value).__name__}, not {kind.__name__}")
        return value


class NotOwnerError(ContractReverted):
    """Only the contract owner may add or remove submitters."""

    @property
    def caller(self) -> str:
        return self._field("caller", str)


class NotSubmitterError(ContractReverted):
    """The sending account is not an authorised submitter."""

    @property
    def caller(self) -> str:
        return self._field("caller", str)


class NotLogSubmitterError(ContractReverted):
    """The sending account is not a submitter of the log it tried to anchor or manage."""

    @property
    def log_id(self) -> bytes:
        return self._field("logId", bytes)

    @property
    def caller(self) -> str:
        return self._field("caller", str)


class SizeDecreasedError(ContractReverted):
    """The checkpoint's size is smaller than the log's last anchored size."""

    @property
    def previous(self) -> int:
        return self._field("previous", int)

    @property
    def given(self) -> int:
        return self._field("given", int)


class IndexOutOfRangeError(ContractReverted):
    """An anchor index at or beyond the log's anchor count was asked for."""


class NoCheckpointError(ContractReverted):
    """The log has no anchored checkpoint."""



def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)



# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorReceipt:
    """A mined anchoring transaction."""

    tx_hash: str
    block_number: int
    block_time: datetime
    index: int
    gas_used: int
    effective_gas_price: int

    @property
    def fee_wei(self) -> int:
        return self.gas_used * self.effective_gas_price


@dataclass(frozen=True)
class Anchor:
    """One checkpoint recorded by the contract for a log.

    `submitter`, `tx_hash`, `block_number` and `log_index` come from the `Anchored` event
    and are None when the anchor was read from contract storage (`get`, `latest`).
    """

    log_id: bytes
    index: int
    root: bytes
    size: int
    timestamp: datetime
    submitter: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    log_index: int | None = None

    @property
    def position(self) -> tuple[int, int] | None:
        """Where on chain the anchor was recorded (block, log index), when known."""
        if self.block_number is None or self.log_index is None:
            return None
        return (self.block_number, self.log_index)


@dataclass(frozen=True)
class SubmitterChange:
    """A submitter added to (or removed from) one log, at a place on chain."""

    log_id: bytes
    submitter: str
    added: bool
    block_number: int
    log_index: int

    @property
    def position(self) -> tuple[int, int]:
        return (self.block_number, self.log_index)
