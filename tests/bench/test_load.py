"""The HTTP load generator: back to back it measures the most a server answers; paced, the latency
at a given rate, charging a server that falls behind for every request it kept waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench._http import load


@contextmanager
def _server(seconds_per_request: float) -> Iterator[str]:
    """A local HTTP server answering every POST after `seconds_per_request`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(seconds_per_request)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _bodies() -> Iterator[dict[str, int]]:
    n = 0
    while True:
        n += 1
        yield {"n": n}


def test_paced_clients_post_at_the_rate_asked() -> None:
    with _server(0.0) as url:
        result = load(url, _bodies(), clients=4, seconds=1.0, rate=60.0)
    assert 55 <= result["requests"] <= 60 and result["errors"] == 0


def test_a_server_that_falls_behind_is_charged_for_the_wait_it_causes() -> None:
    """Two clients and 50 ms a request can answer 40/s: paced at 80/s the queue grows, and the
    latency counts from when each request was due, not from when a client got round to it."""
    with _server(0.05) as url:
        back_to_back = load(url, _bodies(), clients=2, seconds=1.0)
        paced = load(url, _bodies(), clients=2, seconds=1.0, rate=80.0)
    assert back_to_back["p99_ms"] < 200 < paced["p99_ms"]
