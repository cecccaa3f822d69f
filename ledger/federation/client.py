"""Asking a peer log: a signed request, a time bound, and only a signed answer accepted.

`PeerClient` is how this log talks to a peer: it signs each request with the log key (RFC 9421,
`ledger.federation.signing`), gives the whole exchange at most `timeout` seconds (default 2,
$TRACEMARK_PEER_TIMEOUT) so that a border scan never waits on a foreign server, and accepts an
answer only when the peer's key signed it as the answer to this very request. Anything else is
`PeerUnreachable` (no usable answer: the caller falls back, e.g. on a cached status) or
`PeerRefused` (the peer said no, with its problem detail).

The HTTP exchanges run on the client's own threads, so a slow peer holds none of the caller's:
an event loop awaits `get_async` without lending it a thread, and a caller's wait ends at the
bound even when the exchange has not.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from ledger.errors import StoreError
from ledger.federation.errors import MessageSignatureError, PeerRefused, PeerUnreachable
from ledger.federation.peers import Peer
from ledger.federation.signing import HttpRequest, HttpResponse, sign_request, signature_headers, verify_response
from ledger.log.checkpoint import LogKey
from ledger.log.codec import canonical

__all__ = ["PeerClient", "PeerAnswer", "DEFAULT_TIMEOUT", "TIMEOUT_ENV", "peer_timeout"]

DEFAULT_TIMEOUT = 2.0
TIMEOUT_ENV = "TRACEMARK_PEER_TIMEOUT"
_PARALLEL = 32
"""Requests in flight at once per client; more wait their turn (within their own time bound)."""


def peer_timeout() -> float:
    """$TRACEMARK_PEER_TIMEOUT in seconds (default 2): the most one exchange with a peer may take."""
    text = os.environ.get(TIMEOUT_ENV, "")
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 60:
        raise StoreError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds between 0 and 60")
    return seconds


@dataclass(frozen=True)
class PeerAnswer:
    """A peer's verified answer: what it said, and the signed request and signature headers that
    make it evidence (keep `request.headers` and `signature` with the body to prove it later)."""

    peer: str
    status: int
    body: bytes
    content: Any
    """The JSON body, parsed (None when the answer is not JSON)."""
    request: HttpRequest
    signature: dict[str, str]


class PeerClient:
    """Signed, time-bound requests from this log (its `key`, its `origin`) to its peers."""

    def __init__(self, key: LogKey, origin: str, timeout: float | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.key = key
        self.origin = origin
        self.timeout = peer_timeout() if timeout is None else timeout
        self._http = httpx.Client(timeout=self.timeout, transport=transport, follow_redirects=False)
        self._pool = ThreadPoolExecutor(max_workers=_PARALLEL, thread_name_prefix="peer-client")

    @classmethod
    def for_log(cls, key: LogKey | None, origin: str, timeout: float | None = None) -> PeerClient:
        """The client of a log whose server holds its key (`Ledger.log_key`); a log without it cannot sign."""
        if key is None:
            raise StoreError("this server does not hold the log key: it cannot sign requests to peers")
        return cls(key, origin, timeout)

    def get(self, peer: Peer, path: str) -> PeerAnswer:
        return self._exchange(peer, "GET", path, b"")

    async def get_async(self, peer: Peer, path: str) -> PeerAnswer:
        """`get` for an event loop: the loop awaits the exchange, holding no thread of its own."""
        request, future = self._send(peer, "GET", path, b"")
        with self._reaching(peer, future):
            response = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        return self._answer(peer, request, response)

    def post(self, peer: Peer, path: str, content: Any) -> PeerAnswer:
        """POST `content` as RFC 8785 JSON."""
        return self._exchange(peer, "POST", path, canonical(content))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def _exchange(self, peer: Peer, method: str, path: str, body: bytes) -> PeerAnswer:
        request, future = self._send(peer, method, path, body)
        with self._reaching(peer, future):
            response = future.result(timeout=self.timeout)
        return self._answer(peer, request, response)

    def _send(self, peer: Peer, method: str, path: str, body: bytes) -> tuple[HttpRequest, Future[httpx.Response]]:
        """The signed request, on its way on one of the client's threads."""
        if not path.startswith("/"):
            raise ValueError(f"a peer path starts with '/', got {path!r}")
        request = HttpRequest(method, str(httpx.URL(peer.url + path)), {"Content-Type": "application/json"} if body else {})
        sign_request(request, body, self.key, self.origin)
        return request, self._pool.submit(self._http.request, method, request.url, content=body or None, headers=request.headers)

    @contextmanager
    def _reaching(self, peer: Peer, future: Future[httpx.Response]) -> Iterator[None]:
        """Waiting for `future`: past the bound or failed, the peer is unreachable."""
        try:
            yield
        except (TimeoutError, httpx.TimeoutException) as exc:
            future.cancel()
            raise PeerUnreachable(peer.name, f"no answer from {peer.url} within {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise PeerUnreachable(peer.name, f"cannot reach {peer.url}: {exc or type(exc).__name__}") from exc

    def _answer(self, peer: Peer, request: HttpRequest, response: httpx.Response) -> PeerAnswer:
        status, body = response.status_code, response.content
        if 400 <= status < 500:
            raise PeerRefused(peer.name, status, _detail(body))
        if not 200 <= status < 300:
            raise PeerUnreachable(peer.name, f"{peer.url} answered {status}: {_detail(body)}")
        headers = dict(response.headers.items())
        try:
            verify_response(HttpResponse(status, headers, request), body, peer.origin, peer.vkey)
        except MessageSignatureError as exc:
            raise PeerUnreachable(peer.name, f"the answer is not signed by {peer.origin}: {exc.detail}") from exc
        content = None
        if response.headers.get("content-type", "").startswith("application/json"):
            try:
                content = json.loads(body)
            except ValueError as exc:
                raise PeerUnreachable(peer.name, f"the answer is not JSON: {exc}") from exc
        return PeerAnswer(peer=peer.name, status=status, body=body, content=content, request=request,
                          signature=signature_headers(headers))


def _detail(body: bytes) -> str:
    """A problem+json's detail, or the start of whatever else the peer said."""
    try:
        problem = json.loads(body)
    except ValueError:
        problem = None
    detail = problem.get("detail") if isinstance(problem, dict) else None
    if isinstance(detail, str):
        return detail[:500]
    return body[:200].decode("utf-8", "replace").strip() or "(no detail)"
