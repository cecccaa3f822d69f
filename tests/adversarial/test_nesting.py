"""Crash by nesting: bodies of deeply nested brackets, sent to a real server on every route.

A JSON parser recurses once per level; with the recursion limit py_ecc sets on import (100,000),
200,000 nested `[` overflowed the C stack and the worker died of a segfault. Every body nested
deeper than `MAX_DEPTH` is refused with 422 before any parser sees it, and the server lives on.
"""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.adversarial.conftest import DemoLog

DEPTH = 10**6
MAX_DEPTH = 32
"""The documented bound (api.limits.MAX_DEPTH)."""
SHAPES = {"arrays": b"[" * DEPTH, "objects": b'{"a":' * DEPTH, "closed arrays": b"[" * DEPTH + b"]" * DEPTH,
          "behind a string of closers": b'["' + b"]" * 20_000 + b'", ' + b"[" * 20_000}
PROBLEM = "application/problem+json"


def assert_too_deep(response: httpx.Response) -> None:
    assert response.status_code == 422, (response.request.method, response.request.url, response.text[:300])
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith("/body-too-deep") and str(MAX_DEPTH) in body["detail"]


def every_route(server: str) -> list[tuple[str, str]]:
    """Each method and path the server documents, path parameters filled in, and some it does not."""
    paths = httpx.get(server + "/openapi.json").json()["paths"]
    routes = [(method.upper(), path.replace("{", "").replace("}", "")) for path, methods in paths.items() for method in methods]
    return routes + [("POST", "/investigations/login"), ("POST", "/nowhere"), ("PUT", "/v1/events")]


@pytest.mark.parametrize("shape", SHAPES)
def test_an_anonymous_deeply_nested_body_is_refused_and_the_server_lives_on(server: str, shape: str):
    for path in ("/v1/events", "/v1/scan", "/v1/events:batch"):
        assert_too_deep(httpx.post(server + path, content=SHAPES[shape], headers={"content-type": "application/json"}, timeout=60))
    assert httpx.get(server + "/healthz").status_code == 200
    assert httpx.get(server + "/v1/checkpoint").status_code == 200


def test_every_route_refuses_a_deeply_nested_body_from_an_authenticated_caller(server: str, demo_log: DemoLog):
    for party in ("registry", "de-police"):
        for method, path in every_route(server):
            response = httpx.request(method, server + path, content=SHAPES["arrays"], timeout=60,
                                     headers={**demo_log.auth(party), "content-type": "application/json"})
            assert_too_deep(response)
    assert httpx.get(server + "/healthz").status_code == 200


def test_the_bound_is_exact_and_a_body_within_it_reaches_the_route(server: str, demo_log: DemoLog):
    headers = {**demo_log.auth("registry"), "content-type": "application/json"}
    within = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    answer = httpx.post(server + "/v1/events", content=within, headers=headers)
    assert answer.status_code == 422 and answer.json()["type"].endswith("/validation"), answer.text  # the route judged it
    assert_too_deep(httpx.post(server + "/v1/events", content=b"[" + within + b"]", headers=headers))
    # brackets inside strings are text, not nesting
    text = b'{"event": {"note": "' + b"[" * 5000 + b'"}, "signer": "0x", "signature": "0x"}'
    answer = httpx.post(server + "/v1/events", content=text, headers=headers)
    assert answer.status_code == 422 and not answer.json()["type"].endswith("/body-too-deep"), answer.text


def test_deep_json_in_utf16_is_refused_too(server: str, demo_log: DemoLog):
    """The JSON parsers read UTF-16 bodies: their nesting is judged as well."""
    headers = {**demo_log.auth("registry"), "content-type": "application/json"}
    assert_too_deep(httpx.post(server + "/v1/events", content=("[" * 5000).encode("utf-16"), headers=headers))
    # found by test_fuzz: closers inside a UTF-16 string must not hide the depth after it
    hidden = '{"' + "]" * 100 + '": ' + "[" * 100 + "]" * 100 + "}"
    for encoding in ("utf-16", "utf-16-be", "utf-32"):
        assert_too_deep(httpx.post(server + "/v1/events", content=hidden.encode(encoding), headers=headers))


def test_the_recursion_limit_is_the_default_once_the_server_has_imported_everything():
    script = ("import sys; default = sys.getrecursionlimit(); import tracemark.cli, api.app, tracemark.cli.serve, scanner.claims, ledger.anchoring.contract; "
              "import eth_account, web3; print(default, sys.getrecursionlimit())")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1000", "1000"]
