"""The one error family of the ledger: every refusal is a typed error that says what went wrong."""

from __future__ import annotations

__all__ = [
    "EventTooLarge",
    "AppendLockBusy",
    "LedgerError",
    "EventInvalid",
    "SignatureError",
    "RuleViolation",
    "CheckpointError",
    "CosignatureError",
    "NotFound",
    "StoreError",
    "EventFailed",
]


class LedgerError(Exception):
    """Base class of every error raised by the ledger package.

    `index` is set when the error refused one event of a batch: the position of that event.
    """

    index: int | None = None


class EventInvalid(LedgerError):
    """An event is malformed: a field is missing, has the wrong type or an invalid code."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail if field is None else f"{field}: {detail}")
        self.detail = detail
        self.field = field


class EventTooLarge(EventInvalid):
    """An event whose log entry would be longer than a C2SP tlog-tiles entry bundle can carry."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the event's entry would be up to {size:,} bytes; an entry bundle (C2SP tlog-tiles) "
                         f"carries entries of at most {limit:,} bytes (a uint16 length): shorten the event", "event")
        self.size = size
        self.limit = limit


class SignatureError(LedgerError):
    """A party signature does not verify, names an unknown key, or was made with a revoked key."""

    def __init__(self, detail: str, code: str = "signature_invalid") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


class RuleViolation(LedgerError):
    """The event is well formed and signed, but the rules refuse it against the current state."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


class CheckpointError(LedgerError):
    """A checkpoint note is malformed or its signature does not verify."""


class CosignatureError(CheckpointError):
    """A cosignature, or a cosigner's key, is malformed or does not verify."""


class NotFound(LedgerError):
    """A looked-up item, party, permit or entry does not exist."""

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key


class StoreError(LedgerError):
    """The store cannot do what was asked (no schema, a conflicting concurrent append, ...)."""


class EventFailed(LedgerError):
    """Judging or applying one event raised an error the rules do not foresee (a bug, not a refusal).

    It is this event's failure alone: the rest of its batch is appended without it, and the log
    that raised it keeps the traceback. `cause` names the unexpected error's type.
    """

    def __init__(self, cause: str) -> None:
        super().__init__(f"judging this event failed unexpectedly ({cause}); the traceback is in the log's error output")
        self.cause = cause


class AppendLockBusy(Exception):
    """Another process holds SQLite's write lock, and this append was not to wait for it
    (`ledger.store.db.without_waiting`): nothing was read or written, so it can simply be tried again."""
