"""A trace request's deadline is checked with its body: anything but a positive ISO 8601 duration is a 422 that says so."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_problem


@pytest.mark.parametrize("deadline", ["tomorrow", "PT0S", "-PT1H", 3600])
def test_a_deadline_that_is_no_positive_duration_is_refused_with_the_body(client, auth, deadline) -> None:  # noqa: ANN001
    body = {"peer": "de", "item": "01M97PH42HXHNYASGDNFX6CR0P", "reason": "seized at the border", "deadline": deadline}
    refused = client.post("/v1/trace-requests", json=body, headers=auth("investigator"))
    problem = assert_problem(refused, 422, "validation")
    assert "deadline" in str(problem) and "ISO 8601 duration" in str(problem)
