"""Group commit: concurrent single appends in one process share one transaction.

Every append costs one durable commit; under load that commit, not the event, is the limit.
Threads that append at the same time queue their envelopes; one of them (the leader) appends
the queue as one batch and hands each waiter its receipt; then leadership passes to a thread
still waiting. A refusal inside a group fails only the event it names: the rest is appended
again without it, so a group behaves exactly like its appends made one by one.

Waiters that want proofs (a receipt answered over HTTP, a scan) get one attestation for the
whole group, read once by the leader, instead of each reading the same checkpoint again.
Each waiter sleeps on its own event and is woken only when its own answer is ready or it is
to lead: waking every waiter on every commit made a herd that fought over the GIL.

An event loop cannot lend a thread to lead, so `submit` queues an envelope and returns a future:
when such a waiter is next to lead, the group's own commit thread leads for it. Awaiting callers
(the HTTP routes) then hold no thread while their group commits; a server's threads no longer
queue up behind the append lock, each contending for the GIL when woken.

On an embedded database (`lead_on_loop`) the waiter's own event loop leads instead, between two
of its callbacks. The append is local CPU work, like everything else the loop does, and a second
thread only takes the GIL from the loop and gives it back: on SQLite a scan cost 2.5 ms of CPU
with its reads and its commit on threads, 1.5 ms with both on the loop.

A group has a fixed cost of about 1.3 ms of CPU (its transaction, the checkpoint it signs, the
attestation it reads) whatever its size, so the loop does not lead the moment its waiter's turn
comes. It leads once no append has been queued for `commit_quiet` seconds (the requests that
arrived meanwhile have been judged and joined the group), or once the group's oldest append has
waited `commit_delay`, whichever comes first: PostgreSQL's `commit_delay`, ended early by a lull.
Leading at once made groups of 7-17 scans under 50 clients (1.13 ms of CPU a scan); waiting a
millisecond, 25-55 (0.84 ms). Scans paced at 1,000/s arrive one by one and met a lull at once:
groups of two or three, and one server process could not keep up (p99 62 ms); waiting 5 ms
gave 27 ms in the same test.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ledger.errors import AppendLockBusy, LedgerError

_LOCK_RETRY = 0.001
"""Seconds a loop-led group waits before trying a busy write lock again."""

__all__ = ["GroupCommit"]


@dataclass
class _Waiting:
    envelope: Any
    attest: bool  # wants a checkpoint covering the group, and proofs from it
    prove: tuple[int, ...]  # more entries whose inclusion proofs the attestation should carry
    future: Future[tuple[Any, Any]] | None = None  # an awaiting caller's answer; None for a thread that waits (and may lead) itself
    loop: asyncio.AbstractEventLoop | None = None  # the awaiting caller's loop, when that loop leads for it
    queued_at: float = field(default_factory=time.monotonic)
    woken: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    receipt: Any = None
    attestation: Any = None
    error: BaseException | None = None


class GroupCommit:
    def __init__(self, append_batch: Callable[..., list[Any]], attest: Callable[[Sequence[int]], Any] | None = None,
                 max_group: int = 1000, lead_on_loop: bool = False, commit_quiet: float = 0.0, commit_delay: float = 0.0) -> None:
        self._append_batch = append_batch
        self._attest = attest
        self._max_group = max_group
        self._lead_on_loop = lead_on_loop
        self._commit_quiet = commit_quiet
        self._commit_delay = commit_delay
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._last_queued = 0.0
        self._leading = False
        self._committer: ThreadPoolExecutor | None = None  # leads for `submit`'s waiters; started on first use

    def append(self, envelope: Any, attest: bool = False, prove: Sequence[int] = ()) -> tuple[Any, Any]:
        """Append one envelope, possibly in one transaction with others' (blocks until committed).

        Returns its receipt and, with `attest`, the attestation of its group, which also proves
        the entries `prove` names (None without `attest`).
        """
        me = _Waiting(envelope, attest, tuple(prove))
        lead = self._enqueue(me)
        while not lead:
            me.woken.wait()
            me.woken.clear()
            if me.done:
                break
            lead = True  # the last leader handed over to this thread
        if not me.done:
            self._lead()
        if me.error is not None:
            raise me.error
        return me.receipt, me.attestation

    def submit(self, envelope: Any, attest: bool = False, prove: Sequence[int] = ()) -> Future[tuple[Any, Any]]:
        """`append` without blocking: a future of (receipt, attestation), resolved by the thread
        that commits its group (`asyncio.wrap_future` awaits it on an event loop). Called on an
        event loop with `lead_on_loop`, that loop commits the group when it is this waiter's turn."""
        loop = _running_loop() if self._lead_on_loop else None
        future: Future[tuple[Any, Any]] = Future()
        me = _Waiting(envelope, attest, tuple(prove), future=future, loop=loop)
        if self._enqueue(me):
            self._lead_for(me)
        return future

    def _enqueue(self, me: _Waiting) -> bool:
        """Queue `me`; True if nobody leads, so that `me` must."""
        with self._lock:
            self._queue.append(me)
            self._last_queued = me.queued_at
            lead = not self._leading
            self._leading = True
        return lead

    def _lead_for(self, waiting: _Waiting) -> None:
        """Make `waiting` lead: wake its thread, or have the commit thread lead in its place."""
        if waiting.future is None:
            waiting.woken.set()
            return
        if waiting.loop is not None:
            try:
                waiting.loop.call_soon_threadsafe(self._lead_when_quiet, waiting.loop)  # safe from the loop and from a thread
                return
            except RuntimeError:  # its loop has closed (a server shutting down): the commit thread leads
                pass
        with self._lock:
            if self._committer is None:
                self._committer = ThreadPoolExecutor(1, thread_name_prefix="group-commit")
        self._committer.submit(self._lead)

    def _lead_when_quiet(self, loop: asyncio.AbstractEventLoop) -> None:
        """Lead (on `loop`) once no append has been queued for `commit_quiet`, or the oldest queued
        has waited `commit_delay`; until then, look again when the sooner of the two is due."""
        with self._lock:
            oldest = self._queue[0].queued_at if self._queue else self._last_queued
            due = min(self._last_queued + self._commit_quiet, oldest + self._commit_delay)
        wait = due - time.monotonic()
        if wait > 0:
            loop.call_later(wait, self._lead_when_quiet, loop)
        else:
            self._lead(loop)

    def _lead(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Commit what is queued, then pass leadership to the oldest waiter left, if any.

        Leading on `loop`, the commit does not wait for a write lock another process holds (its
        busy wait would sleep on the loop): the group goes back to the queue, the loop serves
        others, and it tries again in `_LOCK_RETRY` seconds with whatever has joined meanwhile.
        """
        retry = False
        try:
            with self._lock:
                group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
            retry = not self._commit(group, wait=loop is None)
            if retry:
                with self._lock:
                    self._queue[:0] = group
                assert loop is not None
                loop.call_later(_LOCK_RETRY, self._lead_when_quiet, loop)
        finally:
            if not retry:
                with self._lock:
                    successor = self._queue[0] if self._queue else None
                    self._leading = successor is not None
                if successor is not None:
                    self._lead_for(successor)

    def _commit(self, group: list[_Waiting], wait: bool = True) -> bool:
        """Append `group` (a refused event fails alone) and answer its waiters; False, with nothing
        done, if the write lock was busy and `wait` is False."""
        while group:
            try:
                receipts = self._append_batch([w.envelope for w in group], checkpoint=any(w.attest for w in group), wait=wait)
            except AppendLockBusy:
                return False
            except LedgerError as exc:
                if exc.index is None or len(group) == 1:
                    exc.index = None
                    self._finish(group, error=exc)
                    return True
                refused = group.pop(exc.index)
                exc.index = None
                self._finish([refused], error=exc)
                continue
            except BaseException as exc:  # the database went away: every waiter hears it
                self._finish(group, error=exc)
                return True
            self._finish(group, receipts=receipts, attestation=self._attestation(group, receipts))
            return True
        return True

    def _attestation(self, group: Sequence[_Waiting], receipts: Sequence[Any]) -> Any:
        """One attestation of the receipts whose waiters asked for it; None if it cannot be read
        now (the events are committed all the same: the caller attests them itself)."""
        seqs = sorted({seq for waiting, receipt in zip(group, receipts, strict=True) if waiting.attest for seq in (receipt.seq, *waiting.prove)})
        if not seqs or self._attest is None:
            return None
        try:
            return self._attest(seqs)
        except Exception:  # noqa: BLE001 - reported by the caller's own attempt
            return None

    @staticmethod
    def _finish(group: Sequence[_Waiting], receipts: Sequence[Any] | None = None, attestation: Any = None,
                error: BaseException | None = None) -> None:
        for n, waiting in enumerate(group):
            waiting.receipt = None if receipts is None else receipts[n]
            waiting.attestation = attestation if waiting.attest else None
            waiting.error = error
            waiting.done = True
            if waiting.future is None:
                waiting.woken.set()
            elif not waiting.future.set_running_or_notify_cancel():
                continue  # its caller gave up waiting (a client that hung up): nobody to tell, and the group goes on
            elif error is not None:
                waiting.future.set_exception(error)
            else:
                waiting.future.set_result((waiting.receipt, waiting.attestation))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # called from a thread: the commit thread leads for it
        return None
