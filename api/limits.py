"""Request bodies: a cap per route, a small one until the caller is authenticated, and a bound on nesting.

Every body is read here, before any route sees it, and never beyond its cap: the cap of its
route (`ROUTE_MAX_BODY`, else `DEFAULT_ROUTE_MAX_BODY`), or `ANONYMOUS_MAX_BODY` for a caller
without a valid API key (`api.credentials` has authenticated it by then). A longer body is
refused with 413, whether it declares its length or streams.

A body whose brackets nest deeper than `MAX_DEPTH` is refused with 422, on every route: the JSON
parsers the routes use recurse once per level, and a deep enough body would exhaust the stack.
The depth is judged on the raw bytes in linear time (`nests_deeper`), so no parser ever sees it.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate, count
from operator import sub

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.credentials import api_key_of
from api.errors import ApiError, BodyTooDeep, BodyTooLarge
from api.problems import api_problem

__all__ = ["BodyLimit", "nests_deeper", "MAX_DEPTH", "DEFAULT_MAX_BODY", "ANONYMOUS_MAX_BODY",
           "DEFAULT_ROUTE_MAX_BODY", "ROUTE_MAX_BODY"]

MAX_DEPTH = 32
"""Deepest nesting of brackets a body may have; an event batch needs fewer than ten levels."""
DEFAULT_MAX_BODY = 16 * 1024 * 1024
"""The largest body of any route: a full 10,000-event batch fits."""
ANONYMOUS_MAX_BODY = 64 * 1024
"""The most read from a caller without a valid API key, whatever the route."""
DEFAULT_ROUTE_MAX_BODY = 64 * 1024
ROUTE_MAX_BODY = {("POST", "/v1/events:batch"): DEFAULT_MAX_BODY, ("POST", "/v1/events"): 1024 * 1024}

_STRING = re.compile(rb'"[^"]*"')
_OPEN, _CLOSE = 2, 0
_MARKS = bytes.maketrans(b"[{]}", bytes([_OPEN, _OPEN, _CLOSE, _CLOSE]))
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_NOT_BRACKETS_OR_QUOTES = bytes(sorted(set(range(256)) - set(b'[]{}"')))


def nests_deeper(body: bytes, bound: int) -> bool:
    """Whether any bracket of `body` outside JSON strings nests deeper than `bound`: in linear time,
    by bytes methods that run in C, without recursion. Unclosed brackets count, as a recursive
    parser descends into them before failing. A body with NUL bytes is JSON in UTF-16 or UTF-32
    (which the JSON parsers accept) or no JSON at all: it is judged as UTF-8, as they would read it.
    """
    if body.count(b"[") + body.count(b"{") <= bound:
        return False
    if b"\x00" in body:
        try:
            body = body.decode(json.detect_encoding(body), "surrogatepass").encode("utf-8", "surrogatepass")
        except UnicodeError:  # the parsers refuse it before reading a bracket
            return False
    marks = _outside_strings(body).translate(_MARKS, _NOT_BRACKETS)
    if marks.count(_OPEN) <= bound:
        return False
    # after i marks, o of them opening, the depth is o - (i - o) = (the sum of the first i marks) - i
    return max(map(sub, accumulate(marks), count(1))) > bound


def _outside_strings(body: bytes) -> bytes:
    """The quotes and brackets of `body` that are not inside a JSON string."""
    if b"\\" in body:  # an escaped backslash, then an escaped quote, are no quote
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    quoted = body.translate(None, _NOT_BRACKETS_OR_QUOTES)
    # two quotes in a row close and open strings with no bracket between, or open and close a string
    # without one: dropping them keeps every bracket where it was; the strings left hold brackets
    return _STRING.sub(b"", quoted.replace(b'""', b""))


def route_max_body(scope: Scope, ceiling: int) -> int:
    """The cap on this request's body: its route's, not beyond `ceiling`, and small until the caller is known."""
    route = (scope.get("method", ""), scope.get("path", "").rstrip("/"))
    cap = min(ROUTE_MAX_BODY.get(route, DEFAULT_ROUTE_MAX_BODY), ceiling)
    return cap if api_key_of(scope) is not None else min(cap, ANONYMOUS_MAX_BODY)


class BodyLimit:
    """Read the body up to its cap, refuse it if it is too long or nests too deeply, else hand it on."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = route_max_body(scope, self.max_bytes)
        body, complete = await _read(receive, cap)
        refusal = _refusal(body, complete, cap, api_key_of(scope) is not None)
        if refusal is not None:
            await api_problem(Request(scope), refusal)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _read(receive: Receive, cap: int) -> tuple[bytes, bool]:
    """The body, or its first chunks once they pass `cap` bytes (then False: there is more)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks), False
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _refusal(body: bytes, complete: bool, cap: int, authenticated: bool) -> ApiError | None:
    """Why the body is refused, if it is: nesting first (seen even in the part read of a long body), then length."""
    if nests_deeper(body, MAX_DEPTH):
        return BodyTooDeep(f"the body's brackets nest more than {MAX_DEPTH} levels deep; at most {MAX_DEPTH} are accepted")
    if not complete:
        more = "" if authenticated else " for a caller without a valid API key"
        return BodyTooLarge(f"the request body has more than {cap} bytes; the limit{more} is {cap}")
    return None
