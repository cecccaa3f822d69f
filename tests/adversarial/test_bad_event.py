"""One bad event fails alone: an outsized quantity among concurrent scans, and on a permit line.

A quantity is a bounded decimal (`ledger.domain.codes.quantity`), so one written as `1E+1000000` is
refused at the envelope, naming its field, before any arithmetic meets it. The scans that shared
its group commit are recorded all the same, and a permit stays readable.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from ulid import ULID

from ledger.log.codec import utc_now
from tests.adversarial.conftest import DemoLog

HUGE = "1E+1000000"
PERMIT = "KE-2026-EX-0042"  # the demo's CITES export permit: crocodile skins, line 1
SCANS = 20


def _envelope(demo_log: DemoLog, party: str, event_type: str, **fields: Any) -> dict[str, Any]:
    return demo_log.parties[party].envelope(event_type, utc_now(), **fields)


def _tag(quantity: str) -> dict[str, Any]:
    return {"kind": "universal_tag", "serial": f"KE-CN-BAD-{str(ULID())[-8:]}", "species": "Crocodylus niloticus",
            "species_code": "CRONIL", "country_of_origin": "KE", "year": 2026, "quantity": quantity, "unit": "pcs"}


def _scan(demo_log: DemoLog, gate: int) -> dict[str, Any]:
    """A German customs scan of the demo's clean pistol, with its own signed inspection."""
    item = demo_log.items["valid_firearm"]
    inspect = _envelope(demo_log, "de-customs", "inspect", item=item, country="DE", location=f"Frankfurt gate {gate}",
                        direction="inland", verdict="VALID")
    return {"code": "PX4-DE-002", "country": "DE", "location": f"Frankfurt gate {gate}", "direction": "inland", "inspect": inspect}


async def _post_together(server: str, requests: list[tuple[str, dict[str, str], dict[str, Any]]]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        return await asyncio.gather(*(client.post(path, headers=headers, json=body) for path, headers, body in requests))


def _assert_refused_quantity(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"].endswith(field) and "quantity" in problem["detail"], problem


def test_an_outsized_quantity_among_concurrent_scans_fails_alone(demo_log: DemoLog, server: str) -> None:
    bad = _envelope(demo_log, "ke-kws", "mark_specimen", item=str(ULID()), permit=PERMIT, line=1, tag=_tag(HUGE))
    scans = [("/v1/scan", demo_log.auth("de-customs"), _scan(demo_log, gate)) for gate in range(SCANS)]
    answers = asyncio.run(_post_together(server, [*scans[: SCANS // 2], ("/v1/events", demo_log.auth("ke-kws"), bad),
                                                  *scans[SCANS // 2 :]]))
    refused = answers.pop(SCANS // 2)
    _assert_refused_quantity(refused, "tag.quantity")
    assert [answer.status_code for answer in answers] == [200] * SCANS, [a.text for a in answers if a.status_code != 200]
    assert all(answer.json()["inspection"]["recorded"] for answer in answers)


def test_a_permit_line_of_outsized_quantity_is_refused_and_permits_stay_readable(demo_log: DemoLog, server: str) -> None:
    permit = httpx.get(f"{server}/v1/permits/{PERMIT}", headers=demo_log.auth("ke-kws")).json()
    number = f"KE-2026-EX-{str(ULID())[-6:]}"
    line = {"line": 1, "species": "Crocodylus niloticus", "appendix": "II", "source": "R", "purpose": "T", "quantity": HUGE, "unit": "pcs"}
    fields = {key: permit[key] for key in ("kind", "issuing_country", "exporter", "importer", "export_country", "import_country",
                                          "valid_from", "valid_until")}
    bad = _envelope(demo_log, "ke-kws", "issue_permit", permit={**fields, "number": number, "lines": [line]})
    response = httpx.post(f"{server}/v1/events", headers=demo_log.auth("ke-kws"), json=bad)
    _assert_refused_quantity(response, "quantity")
    assert httpx.get(f"{server}/v1/permits/{number}", headers=demo_log.auth("ke-kws")).status_code == 404
    assert httpx.get(f"{server}/v1/permits/{PERMIT}", headers=demo_log.auth("ke-kws")).status_code == 200
