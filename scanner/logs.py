"""Which log a code belongs to: the scanner's own log, or another country's.

A version 3 code names the log that issued it by its note key ID inside the signed claim, so the
answer is the code's own: the local log when the key ID is the local log's, a foreign log
otherwise, which a scanner may look up among its peers (`ledger.federation.peers.peer_by_key_id`).
Codes issued before version 3 name no log; they belong to the log whose host they point to, so
they are the local log's when their host is the local host, or whenever the scanner does not know
its host (the API serves whatever host its codes were printed with).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger import Ledger
from scanner.payload import Payload, log_id_of, normal_host

__all__ = ["LocalLog", "IssuingLog", "resolve_log", "ledger_log_id", "FOREIGN_LOG"]

FOREIGN_LOG = "FOREIGN_LOG"
"""The verdict on a code another log issued, while this scanner cannot ask that log."""


@dataclass(frozen=True)
class LocalLog:
    """The scanner's own log: its key ID (8 lower-case hex digits) and, when known, the host its codes point to."""

    key_id: str
    host: str | None = None

    @classmethod
    def of(cls, key_id: str, host: str | None = None) -> LocalLog:
        """The local log with `key_id` in any letter case and `host` as codes spell it."""
        return cls(log_id_of(key_id), None if host is None else normal_host(host))


@dataclass(frozen=True)
class IssuingLog:
    """The log a code says issued it: the local one, or a foreign one named by key ID (version 3) or host."""

    local: bool
    key_id: str | None  # None: a code before version 3, which names its log by host only
    host: str

    def describe(self) -> str:
        """How a verdict names the log: its key ID, else its host."""
        return f"the log with key ID {self.key_id}" if self.key_id is not None else f"the log at {self.host}"


def resolve_log(payload: Payload, local: LocalLog) -> IssuingLog:
    """The log that issued `payload`, told against the scanner's `local` log."""
    if payload.log_id is not None:
        return IssuingLog(payload.log_id == local.key_id, payload.log_id, payload.host)
    return IssuingLog(local.host is None or payload.host == local.host, None, payload.host)


def ledger_log_id(ledger: Ledger) -> str | None:
    """The key ID of the ledger's own log key; None where this process does not hold the key."""
    return None if ledger.log_key is None else ledger.log_key.key_hash.hex()
