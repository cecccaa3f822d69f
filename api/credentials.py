"""Who is calling: one `Authorization` header, authenticated once, before limits are applied or a body is read.

The rate limits key their buckets on the authenticated key and the body caps grow only for an
authenticated caller, so both need the caller before the route runs; the routes reuse the same
answer (`request_caller`), so a request costs one key lookup, as before. A request with several
`Authorization` headers is refused: a route and a limit must never read different credentials.
So is a query naming one parameter twice, for the same reason: whatever reads the first value (a
proxy, a log filter) and the route, which reads the last, must see one request.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import ApiError, DuplicateCredentials, RepeatedParameter
from api.keys import caller_of
from api.problems import api_problem
from ledger import Ledger, Party

__all__ = ["Credentials", "request_caller", "api_key_of"]

_AUTHORIZATION = b"authorization"
_CALLER = "tracemark.caller"
_API_KEY = "tracemark.api_key"
_KEY_ID = re.compile(r"^bearer\s+tmk_([0-9a-f]{16})_", re.IGNORECASE)


class Credentials:
    """ASGI middleware: refuse a request that reads two ways (400); authenticate its one credential, if any."""

    def __init__(self, app: ASGIApp, ledger: Ledger) -> None:
        self.app = app
        self.ledger = ledger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [value for name, value in scope["headers"] if name == _AUTHORIZATION]
        refusal = _ambiguity(headers, scope.get("query_string", b""))
        if refusal is not None:
            await api_problem(Request(scope), refusal)(scope, receive, send)
            return
        if headers:
            _authenticate(self.ledger, scope, headers[0].decode("latin-1"))
        await self.app(scope, receive, send)


def _ambiguity(authorizations: list[bytes], query: bytes) -> ApiError | None:
    """Why the request could be read two ways, if it could: several credentials, or a parameter named twice."""
    if len(authorizations) > 1:
        return DuplicateCredentials(f"the request has {len(authorizations)} Authorization headers; send exactly one")
    for name, times in Counter(name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)).most_common(1):
        if times > 1:
            return RepeatedParameter(f"the query names the parameter {name!r} {times} times; name each parameter once")
    return None


def _authenticate(ledger: Ledger, scope: Scope, authorization: str) -> None:
    """Remember the caller, or why it is not one; the route that needs a caller raises it in the app,
    whose handlers make it a problem (401, or 503 when the database cannot answer)."""
    state = scope.setdefault("state", {})
    try:
        state[_CALLER] = caller_of(ledger, authorization)
    except Exception as exc:  # noqa: BLE001  raised again by `request_caller`
        state[_CALLER] = exc
        return
    match = _KEY_ID.match(authorization.strip())
    assert match is not None  # caller_of accepted a tmk_ token
    state[_API_KEY] = match.group(1)


def request_caller(request: Request) -> Party:
    """The party that `Credentials` authenticated for this request (Unauthorized when none)."""
    found = request.scope.get("state", {}).get(_CALLER)
    if isinstance(found, Party):
        return found
    if isinstance(found, Exception):
        raise found
    return caller_of(request.app.state.ledger, request.headers.get("authorization"))


def api_key_of(scope: Scope) -> str | None:
    """The id of the API key this request authenticated with; None for an anonymous or refused caller."""
    return scope.get("state", {}).get(_API_KEY)
