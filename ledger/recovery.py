"""Signers of a large batch, recovered in a worker process while the batch is appended.

Recovering an event's signer (libsecp256k1 through coincurve) is about a quarter of an append
in a batch: some 50 µs of 220. It depends on nothing in the log, so for a large batch a worker
process recovers the signers chunk by chunk, ahead of the appending thread, which meanwhile
validates, projects and inserts the events before them. On a machine with a second core the
append stops paying for recovery. A thread would not do: each recovery would wait for the GIL
behind the appending thread. The worker also packs each event for storage (`ledger.packing`),
which depends on nothing either.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ledger.errors import SignatureError
from ledger.keys import recover
from ledger.packing import Prepacked, pack

__all__ = ["Recoveries", "PARALLEL_FROM"]

PARALLEL_FROM = 200
"""Smaller batches recover in the appending thread: handing them over costs more than it saves."""

_CHUNK = 100
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _workers() -> ProcessPoolExecutor:
    """The process's recovery workers, started on first use. Forked where the system can (the
    worker runs only `_recover_chunk`, never a lock of the parent's): a spawned worker would run
    the caller's main module again, which breaks any script without a `__main__` guard."""
    global _pool
    with _pool_lock:
        if _pool is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            _pool = ProcessPoolExecutor(max(1, (os.cpu_count() or 1) - 1), mp_context=multiprocessing.get_context(method),
                                        initializer=_end_with_parent, initargs=(os.getpid(),))
        return _pool


def _end_with_parent(parent: int) -> None:
    """In each worker: exit once the process that started it is gone. A worker waits on its queue
    forever otherwise, and a killed server would leave its workers behind."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _discard(broken: ProcessPoolExecutor) -> None:
    """Forget a pool whose worker died (killed, out of memory): the next use starts a new one.
    Only that pool: another batch may already have started its successor."""
    global _pool
    with _pool_lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


_Found = tuple[str | None, str | None, bytes]  # address or None, why not or None, the message packed


def _recover_chunk(pairs: Sequence[tuple[bytes, str]]) -> list[_Found]:
    """Signer (or why none: errors cross back as text) and packed form of each (message, signature)."""
    found: list[_Found] = []
    for message, signature in pairs:
        packed = pack(message) if message.startswith(b"{") else b""
        try:
            found.append((recover(message, signature), None, packed))
        except SignatureError as exc:
            found.append((None, str(exc), packed))
    return found


class Recoveries:
    """The signers of a batch's events, in batch order, recovered ahead by the worker processes.

    `add` each event's signed bytes and signature as the batch is read (None for one that could
    not be read); `signer(n)` waits for the n-th signer, or raises SignatureError as `recover`
    would have; `prepacked(n)` is its signed bytes, packed already.
    """

    def __init__(self) -> None:
        self._pairs: list[tuple[bytes, str]] = []
        self._chunks: list[tuple[ProcessPoolExecutor, Future]] = []
        self._recovered: dict[int, list[_Found]] = {}

    def add(self, message: bytes | None, signature: str | None) -> None:
        self._pairs.append((message or b"", signature or ""))
        if len(self._pairs) % _CHUNK == 0:
            self.flush()

    def flush(self) -> None:
        """Hand what was added since the last chunk to the workers."""
        start = len(self._chunks) * _CHUNK
        if start < len(self._pairs):
            chunk = self._pairs[start : start + _CHUNK]
            pool = _workers()
            try:
                self._chunks.append((pool, pool.submit(_recover_chunk, chunk)))
            except BrokenProcessPool:
                _discard(pool)
                pool = _workers()
                self._chunks.append((pool, pool.submit(_recover_chunk, chunk)))

    def signer(self, n: int) -> str:
        address, error, _ = self._chunk(n // _CHUNK)[n % _CHUNK]
        if error is not None:
            raise SignatureError(error)
        assert address is not None
        return address

    def prepacked(self, n: int) -> bytes:
        """The n-th event's signed bytes, carrying the packed form the worker made."""
        message, packed = self._pairs[n][0], self._chunk(n // _CHUNK)[n % _CHUNK][2]
        if not packed:
            return message
        value = Prepacked(message)
        value.packed = packed
        return value

    def _chunk(self, at: int) -> list[_Found]:
        """A chunk's signers; recovered here if its worker died, so a batch never fails for that."""
        if at not in self._recovered:
            pool, future = self._chunks[at]
            try:
                self._recovered = {at: future.result()}
            except BrokenProcessPool:
                _discard(pool)
                self._recovered = {at: _recover_chunk(self._pairs[at * _CHUNK : (at + 1) * _CHUNK])}
        return self._recovered[at]
