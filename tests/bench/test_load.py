"""The HTTP load generators: back to back they measure the most a server answers (`blast` from wrk,
`load` from aiohttp); paced, the latency at a given rate, charging a server that falls behind for
every request it kept waiting."""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench._http import blast, blast_gets, blast_in_order, load


@contextmanager
def _server(seconds_per_request: float, seen: list[tuple[str, bytes]] | None = None, status: int = 200) -> Iterator[str]:
    """A local HTTP server answering every POST with `status` after `seconds_per_request`,
    keeping each request's headers and body in `seen` (a GET's path as its body)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if seen is not None:
                seen.append((str(self.headers), body))
            time.sleep(seconds_per_request)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if seen is not None:
                seen.append((str(self.headers), self.path.encode()))
            self.send_response(status)
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


def test_wrk_posts_every_body_round_robin_with_the_headers_given() -> None:
    seen: list[tuple[str, bytes]] = []
    with _server(0.0, seen) as url:
        result = blast(url, [{"n": 1}, {"n": 2}, {"n": 3}], clients=2, seconds=1.0, headers={"Authorization": "Bearer t"})
    assert 10 < result["requests"] <= len(seen) and result["errors"] == 0  # wrk leaves out the requests still open at the end
    assert all("Authorization: Bearer t" in headers and "Content-Type: application/json" in headers for headers, _ in seen)
    counts = Counter(body for _, body in seen)
    assert set(counts) == {b'{"n": 1}', b'{"n": 2}', b'{"n": 3}'} and max(counts.values()) - min(counts.values()) <= 1  # round robin


def test_wrk_gets_every_path_round_robin() -> None:
    seen: list[tuple[str, bytes]] = []
    with _server(0.0, seen) as url:
        result = blast_gets(url.rstrip("/"), ["/a", "/b"], clients=2, seconds=1.0)
    assert 10 < result["requests"] <= len(seen) and result["errors"] == 0
    counts = Counter(path for _, path in seen)
    assert set(counts) == {b"/a", b"/b"} and max(counts.values()) - min(counts.values()) <= 1


def test_wrk_threads_in_order_each_post_their_own_bodies_in_turn() -> None:
    """A log's checkpoints go to its witness one after the other: each thread's bodies, newlines
    and all, arrive in its order, and past its last one it posts the last again."""
    seen: list[tuple[str, bytes]] = []
    sequences = [[b"old %d\n%d %d\n" % (n, client, n) for n in range(100_000)] for client in range(3)]
    short = [b"old 0\nshort\n", b"old 1\nshort\n"]
    with _server(0.0, seen) as url:
        result = blast_in_order(url, [*sequences, short], seconds=1.0)
    assert 10 < result["requests"] <= len(seen)
    for client, bodies in enumerate(sequences):
        sent = [body for _, body in seen if body.endswith(b"\n%d %d\n" % (client, int(body.split()[1])))]
        assert sent and sent == bodies[: len(sent)]
    posted_short = [body for _, body in seen if body.endswith(b"short\n")]
    assert posted_short[:2] == short and set(posted_short[2:]) == {short[1]}


def test_wrk_counts_refusals_as_errors_and_times_what_the_server_takes() -> None:
    with _server(0.05, status=503) as url:
        result = blast(url, [{"n": 1}], clients=2, seconds=1.0)
    assert result["errors"] == result["requests"] > 0
    assert 45 <= result["p50_ms"] <= result["p99_ms"]


def test_the_garbage_collector_does_not_stall_the_clients_while_they_post() -> None:
    """Its full passes stalled every client at once, and each late request was charged for it."""
    posted: list[int] = []
    passes: list[int] = []  # how many bodies had been posted when a pass began

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(len(posted))

    def cyclic_bodies() -> Iterator[dict[str, int]]:
        for n, body in enumerate(_bodies()):
            garbage: list[object] = []
            garbage.append(garbage)  # only the collector frees it, once enough such cycles pile up
            garbage.extend(object() for _ in range(n % 50))
            posted.append(n)
            yield body

    with _server(0.0) as url:
        gc.callbacks.append(count)
        try:
            result = load(url, cyclic_bodies(), clients=4, seconds=1.0, rate=200.0)
        finally:
            gc.callbacks.remove(count)
    assert result["requests"] > 150 and gc.isenabled()
    assert [n for n in passes if 0 < n < len(posted)] == []  # the collector may run once the load is over
