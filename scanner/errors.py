"""The scanner's error family: every refusal says what was wrong with what it got."""

from __future__ import annotations

__all__ = ["ScannerError", "MalformedCode", "BundleError", "UnreadableImage"]


class ScannerError(Exception):
    """Base class of every error raised by the scanner package."""


class MalformedCode(ScannerError, ValueError):
    """The scanned text is not a Tracemark code; `reason` says what did not fit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BundleError(ScannerError):
    """A trust bundle is malformed, or its log signature does not verify."""


class UnreadableImage(ScannerError):
    """A file given to the scanner is not an image it can open."""
