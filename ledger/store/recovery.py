"""Signers of a large batch, recovered in worker processes while the batch is appended.

Recovering an event's signer (libsecp256k1 through coincurve) is about a third of an append
in a batch: some 45 µs of 130. It depends on nothing in the log, so for a large batch worker
processes recover the signers chunk by chunk, ahead of the appending thread, which meanwhile
validates, projects and inserts the events before them. On a machine with a second core the
append stops paying for recovery. A thread would not do: each recovery would wait for the GIL
behind the appending thread. The worker also packs each event for storage (`ledger.store.packing`),
which depends on nothing either.

The appending thread talks to its workers over a socket each, itself: no helper thread. A
`ProcessPoolExecutor` needs its manager thread to take the GIL for every chunk it hands over
and every answer it hands back, and the appending thread, busy, yields the GIL only every few
milliseconds: its workers sat idle and the appender waited on them for a tenth of its time.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection
from types import TracebackType

from ledger.errors import SignatureError
from ledger.log.keys import recover
from ledger.store.packing import Prepacked, pack

__all__ = ["Recoveries", "PARALLEL_FROM"]

PARALLEL_FROM = 200
"""Smaller batches recover in the appending thread: handing them over costs more than it saves."""

_CHUNK = 100
_AHEAD = 3
"""Chunks a worker holds unanswered: enough to keep it busy while the appender works, few enough
(some 40 KB each) that a send never waits on a full socket."""

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


def _serve(connection: Connection, parent: int) -> None:
    """A worker's life: answer each chunk it is sent, until its parent is gone.

    A forked worker inherits its parent's signal handlers: a server's would only set a flag, and
    the parent, ending, would wait forever on a worker its SIGTERM did not end. A worker ends on
    SIGTERM, and leaves Ctrl-C (sent to the whole terminal's group) to its parent.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent(parent)
    while True:
        try:
            pairs = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(_recover_chunk(pairs))


def _end_with_parent(parent: int) -> None:
    """Exit once the process that started this worker is gone. Its socket alone would not say so:
    the workers forked after it hold copies of the parent's end."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class _Worker:
    """One recovery process, the socket to it, and the chunks it was sent and has not answered."""

    def __init__(self) -> None:
        # Forked where the system can: a spawned worker would run the caller's main module again,
        # which breaks any script without a `__main__` guard. The worker runs only `_serve`.
        context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else multiprocessing.get_context("spawn")
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, os.getpid()), name="tracemark-recovery", daemon=True)
        self.process.start()
        theirs.close()
        self.unanswered: deque[int] = deque()

    def send(self, chunk: int, pairs: Sequence[tuple[bytes, str]]) -> None:
        self.connection.send(pairs)
        self.unanswered.append(chunk)

    def receive(self) -> tuple[int, list[_Found]]:
        """The oldest unanswered chunk and its answer, waiting for it if need be."""
        found = self.connection.recv()
        return self.unanswered.popleft(), found

    def stop(self) -> None:
        self.connection.close()
        self.process.kill()
        self.process.join()


_idle: list[_Worker] = []
_started: list[_Worker] = []
_owner = os.getpid()  # a forked child inherits these lists, not the workers: it starts its own
_lock = threading.Lock()


def _take() -> list[_Worker]:
    """Workers for one batch: the idle ones, topped up to one per spare core. Another batch being
    appended at the same time may hold them all; this one then recovers its signers itself."""
    global _owner
    with _lock:
        if _owner != os.getpid():
            _owner = os.getpid()
            _idle.clear()
            _started.clear()
        _started[:] = [worker for worker in _started if worker.process.is_alive()]
        wanted = max(1, (os.cpu_count() or 1) - 1)
        while len(_started) < wanted:
            try:
                worker = _Worker()
            except (OSError, AssertionError):  # no processes here (a daemonic parent, a process limit)
                break
            _started.append(worker)
            _idle.append(worker)
        taken = [worker for worker in _idle if worker.process.is_alive()]
        _idle.clear()
        return taken


def _give_back(workers: Sequence[_Worker]) -> None:
    with _lock:
        _idle.extend(workers)


def _pool_pids() -> list[int]:
    """The worker processes started so far (tests kill them)."""
    with _lock:
        return [worker.process.pid for worker in _started if worker.process.pid is not None]


class Recoveries:
    """The signers of a batch's events, in batch order, recovered ahead by the worker processes.

    `add` each event's signed bytes and signature as the batch is read (None for one that could
    not be read), then `flush`; `signer(n)` waits for the n-th signer, or raises SignatureError as
    `recover` would have; `prepacked(n)` is its signed bytes, packed already. Used as a context
    manager: leaving it waits for what the workers still owe and gives them back.
    """

    def __init__(self) -> None:
        self._pairs: list[tuple[bytes, str]] = []
        self._workers = _take()
        self._formed = 0  # chunks complete (the last one may be short once flushed)
        self._sent = 0
        self._found: dict[int, list[_Found]] = {}
        self._current = -1  # the chunk being read

    def __enter__(self) -> Recoveries:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        for worker in list(self._workers):
            try:
                while worker.unanswered:
                    worker.receive()
            except (EOFError, OSError):
                self._lose(worker)
        _give_back(self._workers)
        self._workers = []

    def add(self, message: bytes | None, signature: str | None) -> None:
        self._pairs.append((message or b"", signature or ""))
        if len(self._pairs) % _CHUNK == 0:
            self._formed += 1
            self._exchange()

    def flush(self) -> None:
        """Every event is added: the last, short chunk is complete too."""
        self._formed = -(-len(self._pairs) // _CHUNK)
        self._exchange()

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
        """Chunk `at`'s answers, waiting for them if need be; a chunk whose worker died is recovered here."""
        if at == self._current:
            return self._found[at]
        while at not in self._found:
            self._send()
            owing = [worker for worker in self._workers if worker.unanswered]
            if not owing:
                self._found[at] = _recover_chunk(self._chunk_pairs(at))
                break
            # its own worker, or, when it is not sent yet, the one whose answer frees a place soonest
            owner = next((worker for worker in owing if at in worker.unanswered), None) or min(owing, key=lambda w: w.unanswered[0])
            try:
                chunk, found = owner.receive()
                self._found[chunk] = found
            except (EOFError, OSError):
                self._lose(owner)
        for done in [chunk for chunk in self._found if chunk < at]:  # a batch reads its chunks in order
            del self._found[done]
        self._current = at
        self._exchange()
        return self._found[at]

    def _exchange(self) -> None:
        """Take the answers that have arrived and send the chunks that are ready, without waiting."""
        for worker in list(self._workers):
            try:
                while worker.unanswered and worker.connection.poll():
                    chunk, found = worker.receive()
                    self._found[chunk] = found
            except (EOFError, OSError):
                self._lose(worker)
        self._send()

    def _send(self) -> None:
        while self._sent < self._formed and self._workers:
            worker = min(self._workers, key=lambda worker: len(worker.unanswered))
            if len(worker.unanswered) >= _AHEAD:
                return
            try:
                worker.send(self._sent, self._chunk_pairs(self._sent))
            except OSError:
                self._lose(worker)
                continue
            self._sent += 1

    def _lose(self, worker: _Worker) -> None:
        """A worker died (killed, out of memory): what it owed is recovered here, and it is not used again."""
        self._workers.remove(worker)
        for chunk in worker.unanswered:
            self._found[chunk] = _recover_chunk(self._chunk_pairs(chunk))
        worker.unanswered.clear()
        worker.stop()

    def _chunk_pairs(self, at: int) -> list[tuple[bytes, str]]:
        return self._pairs[at * _CHUNK : (at + 1) * _CHUNK]
