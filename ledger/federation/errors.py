"""What goes wrong between logs: a signature that does not hold, a peer that does not answer, a peer that says no."""

from __future__ import annotations

from ledger.errors import LedgerError

__all__ = ["MessageSignatureError", "PeerUnreachable", "PeerRefused"]


class MessageSignatureError(LedgerError):
    """A request from a peer, or a peer's answer, is unsigned, badly signed, expired, replayed, or
    signed by a log that is not a current peer. `detail` says which."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class PeerUnreachable(LedgerError):
    """No trustworthy answer from `peer` in time: a timeout, a refused connection, a server error,
    or an answer that is not signed by the peer's key or not what was asked for."""

    def __init__(self, peer: str, detail: str) -> None:
        super().__init__(f"peer {peer} did not answer usably: {detail}")
        self.peer = peer
        self.detail = detail


class PeerRefused(LedgerError):
    """`peer` answered and refused (a 4xx): `status`, and the `detail` of its problem+json."""

    def __init__(self, peer: str, status: int, detail: str) -> None:
        super().__init__(f"peer {peer} refused ({status}): {detail}")
        self.peer = peer
        self.status = status
        self.detail = detail
