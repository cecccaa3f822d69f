"""The anchoring worker: posts the log's checkpoints to the chain, on its own time.

It runs in its own process (`tracemark anchor run`) or thread, reads the ledger and writes
nothing but the anchor_* columns of checkpoint rows (`Ledger.record_anchor`), so a node that
is down or slow never holds up an append. A new checkpoint is anchored once the log has grown
by `every_entries` or `every_seconds` have passed since the last anchor, whichever comes
first. Work is idempotent: an anchored checkpoint is never sent again, a transaction that was
sent but not yet mined (`AnchorPending`) is picked up by its receipt, and an anchor that was
mined but not recorded (a crash in between) is adopted from the chain instead of re-sent.
Failures that may pass (`AnchorUnavailable`, `TransactionFailed`) are retried with exponential
backoff; a contract refusal or a configuration error stops the worker.

The chain client is anything with `AnchorSink`'s methods (`ledger.anchoring.contract.AnchorClient` in
production, fakes in tests); this module never imports web3.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlmodel import col, select

from ledger.anchoring.results import Anchor, AnchorPending, AnchorReceipt, AnchorUnavailable, TransactionFailed
from ledger.log.codec import format_time
from ledger.store.ledger import Ledger
from ledger.store.narrowing import not_null
from ledger.store.tables import CheckpointRow

__all__ = ["AnchorSink", "AnchorStatus", "AnchorWorker", "Backoff", "Outcome", "Schedule", "anchor_status"]

log = logging.getLogger("tracemark.anchor")

RETRYABLE = (AnchorUnavailable, TransactionFailed)
"""Failures worth another try later: the node is down or slow, or a transaction failed."""


class AnchorSink(Protocol):
    """What the worker needs from a chain client (`ledger.anchoring.contract.AnchorClient` has it)."""

    @property
    def chain_id(self) -> int: ...

    def anchor(self, log_id: bytes, root: bytes, size: int) -> AnchorReceipt: ...

    def receipt(self, tx_hash: str) -> AnchorReceipt | None: ...

    def latest(self, log_id: bytes) -> Anchor | None: ...

    def anchors(self, log_id: bytes) -> list[Anchor]: ...


@dataclass(frozen=True)
class Schedule:
    """When a new checkpoint is due: after `every_entries` new entries or `every_seconds`."""

    every_entries: int = 1000
    every_seconds: float = 600.0
    poll_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.every_entries < 1:
            raise ValueError(f"every_entries must be at least 1, got {self.every_entries}")
        if self.every_seconds <= 0 or self.poll_seconds <= 0:
            raise ValueError(f"every_seconds and poll_seconds must be positive, got {self.every_seconds}, {self.poll_seconds}")

    def due(self, size: int, anchored_size: int, seconds_since_anchor: float | None) -> bool:
        """Whether a log of `size` entries, last anchored at `anchored_size`, needs an anchor now."""
        if size <= anchored_size:
            return False
        if size - anchored_size >= self.every_entries:
            return True
        return seconds_since_anchor is None or seconds_since_anchor >= self.every_seconds

    @property
    def idle_wait(self) -> float:
        """How long to wait between two looks at the log when nothing failed."""
        return min(self.poll_seconds, self.every_seconds)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: `first`, `first * factor`, ... capped at `cap` seconds."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 300.0

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row (counted from 1)."""
        if failures < 1:
            raise ValueError(f"failures counts from 1, got {failures}")
        return min(self.cap, self.first * self.factor ** (failures - 1))


@dataclass(frozen=True)
class Outcome:
    """What one worker step did."""

    action: Literal["idle", "anchored", "adopted", "pending"]
    checkpoint: CheckpointRow | None = None
    receipt: AnchorReceipt | None = None


class AnchorWorker:
    """Anchors `ledger`'s checkpoints through `client` for the log `log_id`."""

    def __init__(
        self,
        ledger: Ledger,
        client: AnchorSink,
        log_id: bytes,
        schedule: Schedule = Schedule(),
        backoff: Backoff = Backoff(),
        *,
        resend_after: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.client = client
        self.log_id = log_id
        self.schedule = schedule
        self.backoff = backoff
        self.resend_after = resend_after
        self.clock = clock
        self.stopped = threading.Event()
        self._last_anchor_at: float | None = None  # by `clock`; None: due as soon as the log grows
        self._pending_since: dict[str, float] = {}

    # ------------------------------------------------------------ one step

    def step(self) -> Outcome:
        """Finish an in-flight transaction, or anchor a new checkpoint if one is due."""
        status = anchor_status(self.ledger)
        if status.pending is not None:
            return self._pick_up(status.pending)
        anchored_size = status.last_anchored.size if status.last_anchored is not None else 0
        since = None if self._last_anchor_at is None else self.clock() - self._last_anchor_at
        if status.last_anchored is not None and since is None:
            self._last_anchor_at = self.clock()  # restarted: count from now, not from scratch
            since = 0.0
        if not self.schedule.due(status.size, anchored_size, since):
            return Outcome("idle")
        row = self.ledger.checkpoint() if self.ledger.log_key is not None else status.latest
        if row is None or row.anchor_block is not None or row.size <= anchored_size:
            return Outcome("idle", row)
        return self._send(row)

    def _send(self, row: CheckpointRow) -> Outcome:
        adopted = self._adopt(row)
        if adopted is not None:
            return adopted
        log.info("anchoring checkpoint #%s (size %s)", row.id, row.size)
        try:
            receipt = self.client.anchor(self.log_id, row.root, row.size)
        except AnchorPending as exc:
            self._pending_since[exc.tx_hash] = self.clock()
            self.ledger.record_anchor(not_null(row.id, "checkpoint.id"), tx=exc.tx_hash)
            log.warning("checkpoint #%s: %s; will pick it up by its receipt", row.id, exc)
            return Outcome("pending", row)
        return Outcome("anchored", self._record(row, receipt), receipt)

    def _pick_up(self, row: CheckpointRow) -> Outcome:
        tx = row.anchor_tx
        assert tx is not None
        try:
            receipt = self.client.receipt(tx)
        except TransactionFailed:
            self.ledger.record_anchor(not_null(row.id, "checkpoint.id"), tx=None)  # reverted once mined: send afresh
            raise
        if receipt is not None:
            self._pending_since.pop(tx, None)
            return Outcome("anchored", self._record(row, receipt), receipt)
        first_seen = self._pending_since.setdefault(tx, self.clock())
        if self.clock() - first_seen >= self.resend_after:
            log.warning("transaction %s unknown for %.0f s: sending checkpoint #%s again", tx, self.resend_after, row.id)
            self._pending_since.pop(tx)
            self.ledger.record_anchor(not_null(row.id, "checkpoint.id"), tx=None)
            return self._send(row)
        return Outcome("pending", row)

    def _adopt(self, row: CheckpointRow) -> Outcome | None:
        """If the chain already holds this checkpoint (mined, then the worker died), record it."""
        latest = self.client.latest(self.log_id)
        if latest is None or (latest.size, latest.root) != (row.size, row.root):
            return None
        found = next((a for a in self.client.anchors(self.log_id) if a.index == latest.index), None)
        if found is None or found.tx_hash is None or found.block_number is None:
            return None
        receipt = AnchorReceipt(tx_hash=found.tx_hash, block_number=found.block_number, block_time=found.timestamp,
                                index=found.index, gas_used=0, effective_gas_price=0)
        log.info("checkpoint #%s was already anchored as index %s: recorded", row.id, found.index)
        return Outcome("adopted", self._record(row, receipt), receipt)

    def _record(self, row: CheckpointRow, receipt: AnchorReceipt) -> CheckpointRow:
        recorded = self.ledger.record_anchor(
            not_null(row.id, "checkpoint.id"), tx=receipt.tx_hash, block=receipt.block_number, time=format_time(receipt.block_time),
            chain_id=self.client.chain_id, index=receipt.index,
        )
        self._last_anchor_at = self.clock()
        log.info("checkpoint #%s (size %s) anchored: index %s, tx %s, block %s",
                 row.id, row.size, receipt.index, receipt.tx_hash, receipt.block_number)
        return recorded

    # ------------------------------------------------------------ the loop

    def run(self, wait: Callable[[float], bool] | None = None) -> None:
        """Step until stopped; `wait(seconds)` sleeps and says whether to stop (default: `stopped`)."""
        wait = wait or self.stopped.wait
        failures = 0
        while True:
            try:
                self.step()
            except RETRYABLE as exc:
                failures += 1
                delay = self.backoff.delay(failures)
                log.warning("anchoring failed (%s in a row): %s; retrying in %.1f s", failures, exc, delay)
            else:
                failures = 0
                delay = self.schedule.idle_wait
            if wait(delay):
                return


@dataclass(frozen=True)
class AnchorStatus:
    """The log's size, its latest checkpoint, the last anchored one, and one still in flight."""

    size: int
    latest: CheckpointRow | None
    last_anchored: CheckpointRow | None
    pending: CheckpointRow | None


def anchor_status(ledger: Ledger) -> AnchorStatus:
    """Where the log's anchoring stands, from the database alone."""
    size = ledger.size()
    with ledger.reading() as session:
        by_size = select(CheckpointRow).order_by(col(CheckpointRow.size).desc(), col(CheckpointRow.id).desc()).limit(1)
        latest = session.exec(by_size).first()
        anchored = session.exec(by_size.where(col(CheckpointRow.anchor_block).is_not(None))).first()
        pending = session.exec(
            by_size.where(col(CheckpointRow.anchor_tx).is_not(None), col(CheckpointRow.anchor_block).is_(None))
        ).first()
    return AnchorStatus(size=size, latest=latest, last_anchored=anchored, pending=pending)
