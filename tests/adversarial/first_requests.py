"""Each GET route as the very first request of a fresh server process.

Run as a program (`python -m tests.adversarial.first_requests`, the log's place in the
environment as `tracemark serve` passes it to its workers, `[[route, headers], ...]` as JSON on
stdin; `[[status, body], ...]` as JSON on stdout). It imports what a server process imports, then
for each route forks a child that builds the app as a server process does (`app_from_env`) and
sends that route as its first request. Each child starts where every server process starts, with
nothing but imports done; forking spares each route the seconds of importing again.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback

import httpx

import tracemark.cli  # noqa: F401 - a `tracemark serve` worker has imported the whole command
from api.app import app_from_env


def first_answer(route: str, headers: dict[str, str]) -> tuple[int, str]:
    """The status and body a fresh server process answers `route` with, as its first request."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        try:
            answer = asyncio.run(_ask(route, headers))
        except BaseException:  # noqa: BLE001 - the child reports whatever happened, then exits
            answer = (-1, traceback.format_exc())
        with os.fdopen(write, "w") as out:
            json.dump(answer, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer_in:
        answer = json.load(answer_in)
    os.waitpid(child, 0)
    return answer[0], answer[1]


async def _ask(route: str, headers: dict[str, str]) -> tuple[int, str]:
    transport = httpx.ASGITransport(app=app_from_env(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://fresh.server") as client:
        response = await client.get(route, headers=headers)
    return response.status_code, response.text[:2000]


if __name__ == "__main__":
    json.dump([first_answer(route, headers) for route, headers in json.load(sys.stdin)], sys.stdout)
