"""HTTP load for the benchmarks: start a server process, post bodies from N clients, time them.

The Tracemark API and the bare FastAPI baseline (`bench._bare_app`) run as separate uvicorn
processes on the same machine, loaded the same way in the same run. Back to back, the load comes
from `wrk` (C, one thread: `blast`), so the load generator takes next to nothing of the cores the
server needs; aiohttp's client took 0.13 ms of CPU a request, an eighth of a scan's, and the scan
server answered 1,600 scans/s under it against 1,950 under wrk. Bodies that must follow each
other in order go from one wrk thread each (`blast_in_order`). Paced, and where each body must
be posted once, the load comes from aiohttp's client on uvloop (`load`), several times lighter than
httpx's (uvloop takes a tenth off its CPU a request: 0.24 -> 0.21 ms paced at 1,000/s).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import uvloop

from ledger.config import Settings
from ledger.store.ledger import gc_paused

__all__ = ["tracemark_server", "bare_server", "load", "blast", "blast_in_order", "blast_gets", "SERVER_WORKERS"]

WRK_SCRIPT = Path(__file__).with_name("wrk_lines.lua")

SERVER_WORKERS = int(os.environ.get("BENCH_SERVER_WORKERS", "1"))
"""Server processes for both sides of an HTTP figure unless it sets its own (`bench.scan` does); one
by default: single appends are all writes, and on SQLite a second process gained them nothing
(1,522 against 1,497 ev/s, 16 clients), while the load generator needs the other core."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _server(args: list[str], port: int, env: dict[str, str], log: Path, ready: str = "/openapi.json") -> Iterator[str]:
    """Run `args` until its `ready` path answers; yield its base URL; stop it afterwards."""
    with log.open("w") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}; see {log}:\n{log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} did not come up in 60 s; see {log}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def tracemark_server(settings: Settings, folder: Path, workers: int = SERVER_WORKERS) -> Iterator[str]:
    """`tracemark serve --workers N` on `settings`' log, its per-key rate limits off (the load is one
    key) and no access log, as the bare server has none."""
    env = {**os.environ, "TRACEMARK_DB": settings.db_url, "TRACEMARK_HOME": str(settings.home), "TRACEMARK_ORIGIN": settings.origin,
           "TRACEMARK_RATE_LIMIT_WRITES": "0", "TRACEMARK_RATE_LIMIT_SCANS": "0", "TRACEMARK_RATE_LIMIT_PEERS": "0"}
    port = _free_port()
    args = [sys.executable, "-m", "tracemark", "serve", "--port", str(port), "--workers", str(workers), "--no-access-log"]
    with _server(args, port, env, folder / "api.log") as url:
        yield url


@contextmanager
def bare_server(folder: Path, workers: int = SERVER_WORKERS) -> Iterator[str]:
    """The bare FastAPI baseline app (as many processes as Tracemark gets), its insert endpoint writing to SQLite in `folder`."""
    env = {**os.environ, "BENCH_BARE_DB": str(folder / "bare-http.db")}
    port = _free_port()
    args = [sys.executable, "-m", "uvicorn", "bench._bare_app:app", "--port", str(port), "--log-level", "warning", "--workers", str(workers)]
    with _server(args, port, env, folder / "bare.log") as url:
        yield url


async def _load(url: str, streams: Sequence[Iterator[dict[str, Any]]], headers: dict[str, str], seconds: float,
                ok: int, rate: float | None) -> dict[str, float]:
    """Client n posts the JSON bodies `streams[n]` yields in turn."""
    latencies: list[float] = []
    errors = 0
    clients = len(streams)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as client:
        began = time.perf_counter()
        stop = began + seconds

        async def worker(n: int) -> None:
            nonlocal errors
            for turn, body in enumerate(streams[n]):
                if rate:  # this client's turn-th request is due then; its latency counts from then, however late it starts
                    start = began + (n + turn * clients) / rate
                    await asyncio.sleep(max(0.0, start - time.perf_counter()))
                else:
                    start = time.perf_counter()
                if start >= stop:
                    return
                async with client.post(url, json=body) as response:
                    await response.read()
                latencies.append(time.perf_counter() - start)
                errors += response.status != ok

        await asyncio.gather(*(worker(n) for n in range(clients)))
        elapsed = time.perf_counter() - began
    _require_finished(url, len(latencies), seconds)
    cuts = statistics.quantiles(latencies, n=100)
    return _figures(len(latencies), errors, elapsed, cuts[49], cuts[98])


def _require_finished(url: str, requests: int, seconds: float) -> None:
    if requests < 2:
        raise RuntimeError(f"only {requests} requests to {url} finished in {seconds} s")


def _figures(requests: int, errors: int, elapsed: float, p50: float, p99: float) -> dict[str, float]:
    """A load's figures as the benchmarks report them (latencies given in seconds, reported in ms)."""
    return {"requests": requests, "errors": errors, "per_s": requests / elapsed, "p50_ms": p50 * 1000, "p99_ms": p99 * 1000}


def load(url: str, bodies: Sequence[dict[str, Any]] | Iterator[dict[str, Any]], *, clients: int, seconds: float,
         headers: dict[str, str] | None = None, ok: int = 200, rate: float | None = None) -> dict[str, float]:
    """`clients` concurrent clients post `bodies` (each once) for at most `seconds`.

    Without `rate` each client posts again as soon as it is answered: the server's most requests/s.
    With `rate` the clients together post `rate` requests/s on a fixed schedule (each client one
    every `clients / rate` seconds), and a request's latency counts from the moment it was due,
    so a server that falls behind is charged for the wait it causes (no coordinated omission).
    Returns requests, non-`ok` answers, requests/s, p50 and p99 latency in ms.

    The cyclic garbage collector is off meanwhile: a full pass over this process's heap stalled
    every client at once (74 ms, once or twice in 15 s), and paced, every request due in that time
    was charged for it, the server idle: the bursts that set the paced p99 were the load generator's.
    """
    shared = iter(bodies)  # each body is posted once, by whichever client is free
    with gc_paused():
        return uvloop.run(_load(url, [shared] * clients, headers or {}, seconds, ok, rate))


def blast(url: str, bodies: Sequence[dict[str, Any]], *, clients: int, seconds: float,
          headers: dict[str, str] | None = None) -> dict[str, float]:
    """`clients` connections post `bodies` round robin back to back for `seconds`, from `wrk`
    (Debian's package, installed by `make system-deps`). Returns what `load` does; `errors`
    counts answers that are not 2xx or 3xx and requests that failed."""
    return _wrk(url, "POST", [[json.dumps(body) for body in bodies]], clients, seconds,
                {"Content-Type": "application/json", **(headers or {})})


def blast_in_order(url: str, sequences: Sequence[Sequence[bytes]], *, seconds: float) -> dict[str, float]:
    """One `wrk` thread and connection per sequence, each posting its own bodies in turn, the next
    once the one before is answered (a log's next checkpoint to its witness), for `seconds`.
    Returns what `blast` does. A sequence must outlast the run: past its end it posts its last body again."""
    return _wrk(url, "POST", [[body.decode("utf-8") for body in bodies] for bodies in sequences], len(sequences), seconds, {})


def blast_gets(base: str, paths: Sequence[str], *, clients: int, seconds: float) -> dict[str, float]:
    """`clients` connections GET `paths` (each starting with /) of `base` round robin back to back for
    `seconds`, from `wrk`. Returns what `blast` does."""
    return _wrk(base, "GET", [paths], clients, seconds, {})


def _wrk(url: str, method: str, files: Sequence[Sequence[str]], clients: int, seconds: float, headers: dict[str, str]) -> dict[str, float]:
    """Run `wrk` with `WRK_SCRIPT` sending `method` requests of the lines (bodies or paths) handed to
    it in files: one file, round robin over `clients` connections on one thread; several, one thread
    and connection each, in order. Its figures as `blast` returns them."""
    in_order = len(files) > 1
    args = ["wrk", "--threads", str(len(files)), "--connections", str(clients), "--duration", f"{max(1, round(seconds))}s",
            "--timeout", "60s", "--script", str(WRK_SCRIPT)]
    for name, value in headers.items():
        args += ["--header", f"{name}: {value}"]
    with tempfile.TemporaryDirectory() as folder:
        listed = Path(folder) / "lines.txt"
        for number, lines in enumerate(files, 1):
            if any("\t" in line for line in lines):
                raise ValueError("a line handed to wrk holds a tab, which stands for a newline there")
            path = listed.with_name(f"lines.txt.{number}") if in_order else listed
            path.write_text("".join(line.replace("\n", "\t") + "\n" for line in lines))
        run = subprocess.run([*args, url, "--", str(listed), method, *(["in-order"] if in_order else [])],
                             capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"wrk exited with {run.returncode}: {run.stderr.strip()[-500:]}")
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    _require_finished(url, figures["requests"], seconds)
    return _figures(figures["requests"], figures["failed"] + figures["refused"], figures["seconds"],
                    figures["p50_us"] / 1e6, figures["p99_us"] / 1e6)
