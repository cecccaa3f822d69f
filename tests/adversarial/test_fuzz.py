"""The fuzz run: schemathesis walking a real server through its links, and hypothesis on the parsers
this suite's attacks went through (body nesting, times, raw request bodies).

tests/api/test_schemathesis.py checks each operation alone, in process; here the calls chain
(an item's uid, an API key's id feed the next call) over real HTTP. tests/reliability/test_fuzz_parsers.py
covers the QR payload and the checkpoint. What a fuzzer finds becomes a fixed case in the module
of its attack class (test_times: out-of-range times and positions; test_nesting: deep bodies).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import negative_data_rejection

from api.limits import MAX_DEPTH, nests_deeper
from ledger.errors import EventInvalid
from ledger.log.codec import format_time, parse_time
from tests.adversarial.conftest import DemoLog
from tests.reliability.processes import api_server

FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))



@pytest.fixture(scope="module")
def server(demo_log: DemoLog) -> Iterator[str]:
    """The demo log's server with no rate limits: the fuzzers send more than a minute's worth of writes."""
    with api_server(demo_log.settings, demo_log.settings.home.parent / "fuzz-server.log",
                    TRACEMARK_RATE_LIMIT_WRITES="0", TRACEMARK_RATE_LIMIT_SCANS="0", TRACEMARK_RATE_LIMIT_PEERS="0") as url:
        yield url

def stateful_run(server: str, demo_log: DemoLog, examples: int, steps: int) -> None:
    """schemathesis' state machine over the served OpenAPI: no 5xx, answers as documented."""
    schema = schemathesis.openapi.from_url(server + "/openapi.json")
    machine = schema.as_state_machine()

    class AsRegistry(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"headers": demo_log.auth("registry"), "timeout": 30}

        def validate_response(self, response: object, case: schemathesis.Case, additional_checks: object = None,
                              **kwargs: object) -> None:
            # A query string carries no types: `?party=false` is the text "false" whichever value the
            # generator meant (a boolean, a list), so its check that "wrongly typed" data is refused
            # reports what no server can see. Unknown and repeated parameters are refused (test_limits).
            case.validate_response(response, excluded_checks=[negative_data_rejection], transport_kwargs=kwargs or None,
                                   recorder=self.recorder)

    AsRegistry.run(settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None, derandomize=True,
                                     database=None, suppress_health_check=list(HealthCheck)))
    assert httpx.get(server + "/healthz").status_code == 200


def test_a_stateful_walk_through_the_served_api_finds_no_5xx(server: str, demo_log: DemoLog):
    stateful_run(server, demo_log, examples=25, steps=6)


@pytest.mark.slow
def test_a_long_stateful_walk_through_the_served_api_finds_no_5xx(server: str, demo_log: DemoLog):
    stateful_run(server, demo_log, examples=400, steps=12)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('[]{}"\\ab\u00e9\u2200\n')),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), inner, max_size=4),
    max_leaves=60,
)


def depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@FUZZ
@given(JSON, st.integers(0, 12), st.booleans())
def test_the_nesting_guard_measures_json_exactly(value: object, bound: int, ascii_only: bool):
    """Brackets, quotes and backslashes inside strings never change the measure of the structure."""
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nests_deeper(body, bound) == (depth(value) > bound)


@FUZZ
@given(JSON, st.integers(0, 12), st.sampled_from(["utf-16", "utf-16-be", "utf-32"]))
def test_the_nesting_guard_never_underestimates_json_in_other_encodings(value: object, bound: int, encoding: str):
    body = json.dumps(value, ensure_ascii=False).encode(encoding)
    assert nests_deeper(body, bound) or depth(value) <= bound


def parser_depth(body: bytes) -> int:
    """The deepest a recursive JSON parser can descend into `body` before its first error: brackets
    outside strings, up to a stray closer or a backslash outside a string."""
    deepest = level = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            escaped, in_string = (False, True) if escaped else (byte == 0x5C, byte != 0x22)
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            level += 1
            deepest = max(deepest, level)
        elif byte in b"]}":
            if level == 0:
                break
            level -= 1
        elif byte == 0x5C:
            break
    return deepest


@FUZZ
@given(st.binary(max_size=400) | st.text(alphabet='[]{}"\\ ,:a', max_size=400).map(str.encode), st.integers(0, 8))
def test_no_body_that_passes_the_nesting_guard_takes_a_parser_deeper(body: bytes, bound: int):
    if b"\x00" not in body:
        assert nests_deeper(body, bound) or parser_depth(body) <= bound


@FUZZ
@given(st.text(max_size=40) | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()))
def test_a_time_parses_to_utc_or_is_refused_as_invalid(text: str):
    try:
        moment = parse_time(text)
    except EventInvalid:
        return
    assert moment.utcoffset() == timedelta(0)
    assert parse_time(format_time(moment)) == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@FUZZ
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
def test_every_utc_time_is_written_as_rfc3339_and_read_back(moment: datetime):
    written = format_time(moment.replace(tzinfo=timezone.utc))
    assert len(written) == 24 and written.endswith("Z"), written
    assert parse_time(written) == moment.replace(tzinfo=timezone.utc, microsecond=moment.microsecond // 1000 * 1000)


BODIES = (st.binary(max_size=2000) | st.builds(lambda n, open_: open_ * n, st.integers(0, 5000), st.sampled_from([b"[", b'{"a":', b"[{"]))
          | JSON.map(lambda v: json.dumps(v).encode()))


@settings(max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(body=BODIES, path=st.sampled_from(["/v1/events", "/v1/events:batch", "/v1/scan", "/v1/admin/api-keys", "/scan/seize"]))
def test_any_body_on_any_write_route_is_answered_without_5xx(server: str, demo_log: DemoLog, body: bytes, path: str):
    party = "de-police" if "scan" in path else "registry"
    response = httpx.post(server + path, content=body, headers={**demo_log.auth(party), "content-type": "application/json"}, timeout=30)
    assert response.status_code < 500, (path, body[:200], response.status_code, response.text[:300])
    if nests_deeper(body, MAX_DEPTH):
        assert response.status_code == 422 and response.json()["type"].endswith("/body-too-deep")
