"""Border scans over HTTP: scans per second and p50/p99 latency with 50 concurrent clients.

`tracemark serve` runs on a demo log (SQLite, one uvicorn process, each scan judged, recorded as
a server-signed `inspect` event and answered with proofs against a fresh checkpoint). A bare
FastAPI endpoint parsing the same body runs under uvicorn on the same machine in the same run;
the ratio says what the ledger costs on top of the web stack.

    python -m bench.scan [--quick] [--clients 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import save_results
from ledger.config import Settings, init_log
from ledger.demo import run_demo

CLIENTS = 50


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(args: list[str], port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    process = subprocess.Popen(args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"server on port {port} did not come up in 60 s; see {log}")


async def _load(url: str, bodies: list[dict[str, Any]], headers: dict[str, str], clients: int, seconds: float) -> dict[str, float]:
    """`clients` workers post bodies back to back for `seconds` (after a short warm-up)."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        for body in bodies[:5]:
            (await client.post(url, json=body)).raise_for_status()
        stop = time.perf_counter() + seconds

        async def worker(n: int) -> None:
            nonlocal errors
            i = n
            while time.perf_counter() < stop:
                start = time.perf_counter()
                response = await client.post(url, json=bodies[i % len(bodies)])
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200
                i += clients

        began = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(clients)))
        elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "errors": errors, "per_s": len(latencies) / elapsed,
            "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


def run(quick: bool = False, clients: int = CLIENTS, seconds: float | None = None) -> dict[str, Any]:
    """Measure, print and save scans per second and latency against the bare endpoint."""
    seconds = seconds if seconds is not None else (3.0 if quick else 10.0)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db_url=f"sqlite:///{Path(tmp) / 'bench.db'}", home=Path(tmp) / "home", origin="bench.tracemark.local/log")
        ledger = init_log(settings)
        demo = run_demo(ledger, keys_dir=settings.keys_dir, items=20 if quick else 200)
        ledger.db.dispose()
        env = {**os.environ, "TRACEMARK_DB": settings.db_url, "TRACEMARK_HOME": str(settings.home), "TRACEMARK_ORIGIN": settings.origin}
        api_port, bare_port = _free_port(), _free_port()
        tracemark = [sys.executable, "-m", "tracemark", "serve", "--port", str(api_port)]
        bare = [sys.executable, "-m", "uvicorn", "bench._bare_app:app", "--port", str(bare_port), "--log-level", "warning"]
        servers = [_start(tracemark, api_port, env, Path(tmp) / "api.log"), _start(bare, bare_port, env, Path(tmp) / "bare.log")]
        try:
            token = json.loads((settings.home / "api-keys.json").read_text())["de-customs"]["api_key"]
            bodies = [{"code": uid, "country": "DE", "location": "FRA cargo", "direction": "import"} for uid in demo.items.values()]
            scan = asyncio.run(_load(f"http://127.0.0.1:{api_port}/v1/scan", bodies, {"Authorization": f"Bearer {token}"}, clients, seconds))
            base = asyncio.run(_load(f"http://127.0.0.1:{bare_port}/bare", bodies, {}, clients, seconds))
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
    results = {"quick": quick, "clients": clients, "seconds": seconds,
               "scan": {k: round(v, 2) for k, v in scan.items()}, "bare": {k: round(v, 2) for k, v in base.items()},
               "ratio_per_s": round(scan["per_s"] / base["per_s"], 3)}
    print(f"{'endpoint':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, row in (("scan", scan), ("bare", base)):
        print(f"{name:>9} {row['per_s']:>9.1f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {int(row['errors']):>7}")
    print(f"scan / bare throughput ratio: {results['ratio_per_s']:.3f} ({clients} concurrent clients, {seconds:.0f} s each)")
    save_results("scan", results)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small log and 3 s per endpoint")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args(argv)
    run(quick=args.quick, clients=args.clients, seconds=args.seconds)


if __name__ == "__main__":
    main()
