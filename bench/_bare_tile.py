"""The tiles benchmark's Python ceiling: a bare ASGI app answering every GET with one constant 8 KiB tile.

Run by uvicorn with the HTTP protocol `tracemark serve` uses (httptools), it is the most a Python
server process can answer here, whatever the app does.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

_TILE = bytes(8192)
_HEADERS = [(b"content-type", b"application/octet-stream"), (b"content-length", b"8192")]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _TILE})
