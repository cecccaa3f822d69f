"""Connections whose request headers never finish are closed after a timeout (`tracemark serve`).

uvicorn times out a connection idle between requests (keep-alive), but not one that has begun a
request and sends its headers a byte at a time, or never ends them: each such connection held a
socket for ever, and enough of them exhaust the process's file descriptors while its event loop
still looks healthy. Here a request's headers must be complete within $TRACEMARK_HEADER_TIMEOUT
seconds (default 10) of the connection opening or of the request's first byte; other connections
are served meanwhile. A slow body is the route's business, under its body cap (`api.limits`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from functools import cache

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HeaderTimeoutProtocol", "HeaderTimeoutConfigError", "header_timeout", "ENV_HEADER_TIMEOUT", "DEFAULT_HEADER_TIMEOUT"]

ENV_HEADER_TIMEOUT = "TRACEMARK_HEADER_TIMEOUT"
DEFAULT_HEADER_TIMEOUT = 10.0


class HeaderTimeoutConfigError(ValueError):
    """A header timeout that is not a positive number of seconds."""


def header_timeout(environ: Mapping[str, str] | None = None) -> float:
    """The seconds a request's headers may take: $TRACEMARK_HEADER_TIMEOUT, else the default."""
    text = (os.environ if environ is None else environ).get(ENV_HEADER_TIMEOUT, "").strip()
    if not text:
        return DEFAULT_HEADER_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 86_400:
        raise HeaderTimeoutConfigError(f"{ENV_HEADER_TIMEOUT} must be a number of seconds above 0 and below a day, got {text!r}")
    return seconds


@cache
def _process_header_timeout() -> float:
    return header_timeout()


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers are not complete in time."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003  (uvicorn's own signature)
        super().__init__(*args, **kwargs)
        self.header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_header_timer()  # a later request on a kept-alive connection gets the same time

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        if self.header_timer is None:
            self.header_timer = self.loop.call_later(_process_header_timeout(), self._headers_too_slow)

    def _stop_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _headers_too_slow(self) -> None:
        self.header_timer = None
        if not self.transport.is_closing():
            self.transport.close()
