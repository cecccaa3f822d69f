"""The witnessing worker: submits each new checkpoint to every configured witness, on its own time.

A thread of ``tracemark serve``. It wakes when this process's appends commit (``Ledger.when_appended``),
when a submission ends, and at the latest every ``poll`` seconds (appends by other processes). Then,
if some witness is free (not submitting, not waiting out a backoff or its spacing), it takes the latest checkpoint
(signing one if the log has grown) and, for each free witness that has not cosigned it, submits it
on a pool thread: ``old <size the witness last cosigned>``, the consistency
proof from that size, an empty line, the signed note (tlog-witness add-checkpoint). A 409 says
which size the witness really has: the submission is made again from there. The cosignatures
returned are verified against the witness's configured keys and kept. Appends never wait for a
witness, and a witness that is down or slow delays only its own cosignature. However fast the log
grows, each witness is sent at most one checkpoint per round trip and per ``spacing`` (0.1 s).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import httpx

from ledger.anchoring.worker import Backoff
from ledger.errors import LedgerError
from ledger.log.cosignature import verify_cosignatures
from ledger.store.ledger import Ledger
from ledger.store.tables import CheckpointRow, WitnessRow
from ledger.witness.cosigners import cosignatures_of, list_witnesses, record_cosignatures, record_error, record_size, verifiers_of

__all__ = ["WitnessFailure", "WitnessWorker", "submit"]

log = logging.getLogger("tracemark.witness")

SIZE_TYPE = "text/x.tlog.size"
MAX_CONFLICTS = 2
"""409s answered in a row before giving up until the next try: a witness another log instance
also feeds can move between our two requests, but not forever."""


class WitnessFailure(LedgerError):
    """A witness did not cosign: it refused, answered something that is not a cosignature, or is out of reach."""


def _body(ledger: Ledger, old_size: int, checkpoint: CheckpointRow) -> bytes:
    proof = ledger.consistency_proof(old_size, checkpoint.size) if old_size else []
    lines = "".join(base64.b64encode(h).decode("ascii") + "\n" for h in proof)
    return f"old {old_size}\n{lines}\n{checkpoint.note}".encode()


def _told_size(response: httpx.Response) -> int:
    text = response.text
    if response.headers.get("content-type", "").split(";")[0].strip() != SIZE_TYPE or not text.endswith("\n") \
            or not text[:-1].isdigit():
        raise WitnessFailure(f"409 without a {SIZE_TYPE} size: {text[:80]!r}")
    return int(text[:-1])


def submit(ledger: Ledger, client: httpx.Client, witness: WitnessRow, checkpoint: CheckpointRow) -> int:
    """Have ``witness`` cosign ``checkpoint``; keep its cosignatures and return how many there were."""
    size = witness.size
    for _ in range(MAX_CONFLICTS + 1):
        if size > checkpoint.size:
            raise WitnessFailure(f"the witness has cosigned size {size}, beyond this log's checkpoint of size {checkpoint.size}")
        response = client.post(f"{witness.url}/add-checkpoint", content=_body(ledger, size, checkpoint))
        if response.status_code == 409:
            size = _told_size(response)
            record_size(ledger, witness.name, size)
            continue
        if response.status_code != 200:
            raise WitnessFailure(f"{response.status_code}: {response.text.strip()[:200]}")
        _, found = verify_cosignatures(checkpoint.note + response.text, verifiers_of(witness))
        if not found:
            raise WitnessFailure("the answer holds no cosignature by the witness's configured keys")
        record_cosignatures(ledger, witness.name, checkpoint, found)
        return len(found)
    raise WitnessFailure(f"the witness answered 409 {MAX_CONFLICTS + 1} times in a row")


BACKOFF = Backoff(first=0.5, cap=60.0)
"""Half a second after a witness first fails, doubling to a minute: a witness that is down costs little."""
SPACING = 0.1
"""Seconds from one submission to a witness to the next: under a stream of appends, each witness
and the log write ten cosignatures a second rather than one per round trip, and the append lock
is left to the appends."""


class WitnessWorker:
    """Gathers cosignatures of the log's latest checkpoint from every configured witness."""

    def __init__(self, ledger: Ledger, poll: float = 0.5, timeout: float = 10.0, backoff: Backoff = BACKOFF,
                 client: httpx.Client | None = None, spacing: float = SPACING) -> None:
        self.ledger = ledger
        self.poll = poll
        self.spacing = spacing
        self.backoff = backoff
        self.client = httpx.Client(timeout=timeout) if client is None else client
        self.stopped = threading.Event()
        self._wake = threading.Event()
        ledger.when_appended(self._wake.set)
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="witness")
        self._in_flight: dict[str, Future[None]] = {}
        self._failures: dict[str, int] = {}
        self._due: dict[str, float] = {}

    def step(self) -> None:
        """Start a submission to each witness that lacks a cosignature of the latest checkpoint."""
        free = [witness for witness in list_witnesses(self.ledger) if self._free(witness.name, time.monotonic())]
        if not free:
            return
        checkpoint = self.ledger.checkpoint()
        assert checkpoint.id is not None
        cosigned = {row.witness for row in cosignatures_of(self.ledger, checkpoint.id)}
        for witness in free:
            if witness.name not in cosigned:
                self._in_flight[witness.name] = self._pool.submit(self._attempt, witness, checkpoint)

    def _free(self, name: str, now: float) -> bool:
        """Whether witness `name` may be sent a checkpoint now: no submission under way, no backoff to wait out."""
        busy = self._in_flight.get(name)
        return (busy is None or busy.done()) and now >= self._due.get(name, 0.0)

    def _attempt(self, witness: WitnessRow, checkpoint: CheckpointRow) -> None:
        try:
            count = submit(self.ledger, self.client, witness, checkpoint)
        except Exception as exc:  # noqa: BLE001  (refusals, network errors, a bug: each waits its backoff)
            failures = self._failures[witness.name] = self._failures.get(witness.name, 0) + 1
            delay = self.backoff.delay(failures)
            self._due[witness.name] = time.monotonic() + delay
            message = f"{type(exc).__name__}: {exc}"
            log.warning("witness %s did not cosign checkpoint of size %s (%s in a row): %s; again in %.1f s",
                        witness.name, checkpoint.size, failures, message, delay)
            record_error(self.ledger, witness.name, message)
        else:
            self._failures.pop(witness.name, None)
            self._due[witness.name] = time.monotonic() + self.spacing
            log.info("witness %s cosigned checkpoint of size %s (%s cosignatures)", witness.name, checkpoint.size, count)
        finally:
            self._wake.set()  # the log may have grown while this witness was busy

    def run(self) -> None:
        """Step on each wake-up, when a witness's spacing or backoff ends, or every ``poll`` seconds,
        until ``stopped`` is set."""
        while not self.stopped.is_set():
            self._wake.wait(self._until_due())
            self._wake.clear()
            if self.stopped.is_set():
                return
            try:
                self.step()
            except Exception:  # a database hiccup must not end the thread: the next step tries again
                log.exception("witnessing step failed")

    def _until_due(self) -> float:
        """Seconds to sleep: until the soonest witness may be sent a checkpoint again, at most ``poll``."""
        now = time.monotonic()
        return min([self.poll, *(due - now for due in list(self._due.values()) if due > now)])

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="witnessing", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.stopped.set()
        self._wake.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
