"""Group commit: concurrent single appends in one process share one transaction.

Every append costs one durable commit; under load that commit, not the event, is the limit.
Threads that append at the same time queue their envelopes; one of them (the leader) appends
the queue as one batch and hands each waiter its receipt; then leadership passes to a thread
still waiting. A refusal inside a group fails only the event it names: the rest is appended
again without it, so a group behaves exactly like its appends made one by one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.errors import LedgerError

__all__ = ["GroupCommit"]


@dataclass
class _Waiting:
    envelope: Any
    checkpoint: bool
    done: bool = False
    receipt: Any = None
    error: BaseException | None = None


class GroupCommit:
    def __init__(self, append_batch: Callable[..., list[Any]], max_group: int = 1000) -> None:
        self._append_batch = append_batch
        self._max_group = max_group
        self._cond = threading.Condition()
        self._queue: list[_Waiting] = []
        self._leading = False

    def append(self, envelope: Any, checkpoint: bool = False) -> Any:
        """Append one envelope, possibly in one transaction with others' (blocks until committed)."""
        me = _Waiting(envelope, checkpoint)
        with self._cond:
            self._queue.append(me)
            while not me.done and self._leading:
                self._cond.wait()
            if not me.done:
                self._leading = True
        if not me.done:
            try:
                self._commit(self._take())
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()
        if me.error is not None:
            raise me.error
        return me.receipt

    def _take(self) -> list[_Waiting]:
        with self._cond:
            group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
            return group

    def _commit(self, group: list[_Waiting]) -> None:
        while group:
            try:
                receipts = self._append_batch([w.envelope for w in group], checkpoint=any(w.checkpoint for w in group))
            except LedgerError as exc:
                if exc.index is None or len(group) == 1:
                    exc.index = None
                    return self._finish(group, error=exc)
                refused = group.pop(exc.index)
                exc.index = None
                self._finish([refused], error=exc)
                continue
            except BaseException as exc:  # the database went away: every waiter hears it
                return self._finish(group, error=exc)
            return self._finish(group, receipts=receipts)

    def _finish(self, group: Sequence[_Waiting], receipts: Sequence[Any] | None = None, error: BaseException | None = None) -> None:
        with self._cond:
            for n, waiting in enumerate(group):
                waiting.receipt = None if receipts is None else receipts[n]
                waiting.error = error
                waiting.done = True
            self._cond.notify_all()
