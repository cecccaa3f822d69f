"""Limits sidestepped: duplicate credentials, forged key ids, large anonymous bodies, headers that never end.

A second `Authorization` header was authenticated from the first and rate-limited from the last,
so a random second key escaped every limit; random key ids each got a fresh bucket; ten anonymous
16 MiB bodies held one byte short were buffered whole (RSS 139 -> 292 MiB); a connection could
hold its headers open for ever. Each is replayed here against a real `tracemark serve`.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.adversarial.conftest import DemoLog
from tests.reliability.processes import api_server

WRITES_PER_MINUTE = 3
HEADER_TIMEOUT = 2
PROBLEM = "application/problem+json"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def limited(demo_log: DemoLog) -> Iterator[str]:
    """A server allowing 3 writes a minute per caller and 2 s for a request's headers."""
    with api_server(demo_log.settings, demo_log.settings.home.parent / "limited.log",
                    TRACEMARK_RATE_LIMIT_WRITES=str(WRITES_PER_MINUTE), TRACEMARK_HEADER_TIMEOUT=str(HEADER_TIMEOUT)) as url:
        yield url


def forged_key() -> str:
    """A well-formed Tracemark key that the log never issued."""
    return f"Bearer tmk_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"


def problem(response: httpx.Response, status: int, slug: str) -> dict:
    assert response.status_code == status, (response.request.url, response.status_code, response.text[:300])
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith("/" + slug), body
    return body


def test_a_second_authorization_header_is_refused_on_every_kind_of_route(limited: str, demo_log: DemoLog):
    size = httpx.get(limited + "/v1/entries", headers=demo_log.auth("investigator")).json()["size"]
    valid = demo_log.auth("registry")["Authorization"]
    for second in (forged_key(), valid):
        headers = [("authorization", valid), ("authorization", second)]
        problem(httpx.post(limited + "/v1/events", json={}, headers=headers), 400, "duplicate-credentials")
        problem(httpx.post(limited + "/v1/scan", json={}, headers=headers), 400, "duplicate-credentials")
        problem(httpx.get(limited + "/v1/checkpoint", headers=headers), 400, "duplicate-credentials")
    assert httpx.get(limited + "/v1/entries", headers=demo_log.auth("investigator")).json()["size"] == size


def test_a_query_parameter_named_twice_is_refused(limited: str, demo_log: DemoLog):
    admin = demo_log.auth("registry")
    listed = "/v1/admin/api-keys?party=de-customs"
    assert httpx.get(limited + listed, headers=admin).status_code == 200
    body = problem(httpx.get(limited + listed + "&party=ke-customs", headers=admin), 400, "repeated-parameter")
    assert "'party'" in body["detail"]
    problem(httpx.get(limited + "/v1/proofs/inclusion?seq=1&size=3&seq=2"), 400, "repeated-parameter")


def test_a_query_parameter_the_route_does_not_take_is_refused(limited: str, demo_log: DemoLog):
    investigator = demo_log.auth("investigator")
    assert httpx.get(limited + "/v1/investigations/diversion?country=DE", headers=investigator).status_code == 200
    body = problem(httpx.get(limited + "/v1/investigations/diversion?coutry=DE", headers=investigator), 400, "unknown-parameter")
    assert "'coutry'" in body["detail"] and "country" in body["detail"]
    problem(httpx.get(limited + "/v1/proofs/inclusion?seq=1&size=3&TRUE=true"), 400, "unknown-parameter")


def test_buckets_follow_the_authenticated_key_and_anonymous_callers_share_one_per_address(limited: str, demo_log: DemoLog):
    registry = demo_log.auth("registry")
    for _ in range(WRITES_PER_MINUTE):  # an empty body: refused by the route, counted by the limit
        problem(httpx.post(limited + "/v1/events", json={}, headers=registry), 422, "validation")
    problem(httpx.post(limited + "/v1/events", json={}, headers=registry), 429, "rate-limited")
    # a forged second key does not reach a fresh bucket
    problem(httpx.post(limited + "/v1/events", json={}, headers=[("authorization", registry["Authorization"]),
                                                                 ("authorization", forged_key())]), 400, "duplicate-credentials")
    # forged keys, each a new key id, share the anonymous bucket of this address, and so does no key at all
    for _ in range(WRITES_PER_MINUTE):
        problem(httpx.post(limited + "/v1/events", json={}, headers={"Authorization": forged_key()}), 401, "unauthorized")
    refused = problem(httpx.post(limited + "/v1/events", json={}, headers={"Authorization": forged_key()}), 429, "rate-limited")
    assert "without a valid API key" in refused["detail"]
    problem(httpx.post(limited + "/v1/events", json={}), 429, "rate-limited")
    # a key that has not written yet still has its own bucket, whatever the anonymous callers did
    problem(httpx.post(limited + "/v1/events", json={}, headers=demo_log.auth("it-beretta")), 422, "validation")
    assert httpx.get(limited + "/healthz").status_code == 200


def padded(document: bytes, size: int) -> bytes:
    """`document` followed by spaces up to `size` bytes: valid JSON of that length."""
    return document + b" " * (size - len(document))


def test_bodies_are_capped_per_route_and_anonymous_ones_before_they_are_read(server: str, demo_log: DemoLog):
    json_type = {"content-type": "application/json"}
    scan = {**demo_log.auth("de-police"), **json_type}
    registry = {**demo_log.auth("registry"), **json_type}
    assert problem(httpx.post(server + "/v1/scan", content=padded(b"{}", 100_000), headers=scan), 413, "body-too-large")
    assert problem(httpx.post(server + "/v1/events", content=padded(b"{}", 2 * MIB), headers=registry), 413, "body-too-large")
    big_batch = httpx.post(server + "/v1/events:batch", content=padded(b'{"envelopes": []}', 2 * MIB), headers=registry)
    assert big_batch.status_code == 422, big_batch.text  # read and judged by the route
    for path in ("/v1/events", "/v1/events:batch"):
        body = problem(httpx.post(server + path, content=padded(b"{}", 100_000), headers=json_type), 413, "body-too-large")
        assert "without a valid API key" in body["detail"]
        forged = {"Authorization": forged_key(), **json_type}
        problem(httpx.post(server + path, content=padded(b"{}", 100_000), headers=forged), 413, "body-too-large")


def server_pid(url: str) -> int:
    """The process of the `tracemark serve` this test started on `url`'s port."""
    port = str(urlsplit(url).port)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == os.getpid() and b"serve" in argv and port.encode() in argv:
                return int(entry.name)
    raise AssertionError(f"no tracemark serve on port {port}")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def held_body(url: str, path: str, length: int, held: list[socket.socket]) -> None:
    """Declare `length` bytes, send all but the last and keep the connection open."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    held.append(sock)
    head = (f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()
    try:
        sock.sendall(head + b"[" + b" " * (length - 2))
    except OSError:  # the server refused the body and closed: nothing more to send
        pass


def test_anonymous_bodies_held_one_byte_short_do_not_grow_the_server(demo_log: DemoLog):
    with api_server(demo_log.settings, demo_log.settings.home.parent / "memory.log", TRACEMARK_RATE_LIMIT_WRITES="0") as url:
        pid = server_pid(url)
        for _ in range(20):  # warm up: every route and its answer built once
            httpx.post(url + "/v1/events", json={}, headers=demo_log.auth("registry"))
        before = rss_mib(pid)
        held: list[socket.socket] = []
        senders = [threading.Thread(target=held_body, args=(url, "/v1/events", 16 * MIB, held)) for _ in range(10)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(60)
        during = rss_mib(pid)
        assert httpx.get(url + "/healthz").status_code == 200
        for sock in held:
            sock.close()
        print(f"server RSS {before:.0f} MiB before, {during:.0f} MiB with ten 16 MiB anonymous bodies held")
        assert during - before < 40, (before, during)


def partial_headers(url: str, trickle: bool) -> bytes:
    """Open a request and never finish its headers (or send one header byte every 0.2 s); what the server sends back."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=HEADER_TIMEOUT * 15) as sock:
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {parts.netloc}\r\n".encode())
        deadline = time.monotonic() + HEADER_TIMEOUT * 15
        while trickle and time.monotonic() < deadline:
            try:
                sock.sendall(b"X")
            except OSError:
                break
            time.sleep(0.2)
        return sock.recv(1024)


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickling"])
def test_a_connection_whose_headers_never_end_is_dropped_while_others_are_served(limited: str, trickle: bool):
    answers: list[bytes | Exception] = []

    def hold() -> None:
        try:
            answers.append(partial_headers(limited, trickle))
        except OSError as exc:  # a reset is a drop too; a timeout is not
            answers.append(exc)

    holders = [threading.Thread(target=hold) for _ in range(20)]
    for holder in holders:
        holder.start()
    for _ in range(5):
        assert httpx.get(limited + "/healthz", timeout=5).status_code == 200
    for holder in holders:
        holder.join(HEADER_TIMEOUT * 20)
    assert len(answers) == 20
    assert all(answer == b"" or (isinstance(answer, ConnectionError)) for answer in answers), answers[:3]
