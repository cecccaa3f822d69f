"""Lifting a revocation: the admin revokes a maker's stolen key; the maker's second key revokes it
again from 2199 so that the stolen key signs again. A revocation only ever moves earlier
(`revocation_stands`), so the stolen key stays refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
from ulid import ULID

from ledger.log.codec import format_time, utc_now
from ledger.log.keys import new_account
from tests.adversarial.conftest import DemoLog


def _post(server: str, demo_log: DemoLog, party: str, envelope: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{server}/v1/events", headers=demo_log.auth(party), json=envelope)


def _marking(serial: str) -> dict[str, object]:
    return {"maker_code": "GLK", "serial": serial, "country": "AT", "year": 2026, "make": "Glock",
            "model": "G17 Gen5", "category": "B", "calibre": "9x19mm"}


def test_a_party_cannot_lift_the_admins_revocation(demo_log: DemoLog, server: str) -> None:
    stolen = demo_log.parties["at-glock"]
    second = replace(stolen, account=new_account())
    added = _post(server, demo_log, "at-glock", stolen.envelope("add_key", utc_now(), party="at-glock", address=second.account.address))
    assert added.status_code == 201, added.text
    revoked_from = format_time(utc_now() - timedelta(minutes=1))
    admin = demo_log.parties["registry"]
    revoked = _post(server, demo_log, "registry", admin.envelope("revoke_key", utc_now(), party="at-glock", address=stolen.account.address,
                                                                 from_time=revoked_from, reason="key reported stolen"))
    assert revoked.status_code == 201, revoked.text

    lifted = _post(server, demo_log, "at-glock", second.envelope("revoke_key", utc_now(), party="at-glock",
                                                                 address=stolen.account.address, from_time="2199-01-01T00:00:00Z",
                                                                 reason="found again"))
    assert lifted.status_code == 409, lifted.text
    assert lifted.headers["content-type"] == "application/problem+json"
    assert lifted.json()["rule"] == "revocation_stands"
    assert revoked_from in lifted.json()["detail"]

    again = _post(server, demo_log, "at-glock", stolen.envelope("mark_firearm", utc_now(), item=str(ULID()), marking=_marking("LIFT-1")))
    assert again.status_code == 422, again.text
    assert again.json()["type"].endswith("/signature/key_revoked")

    earlier = _post(server, demo_log, "at-glock", second.envelope("revoke_key", utc_now(), party="at-glock", address=stolen.account.address,
                                                                  from_time=format_time(utc_now() - timedelta(days=2)),
                                                                  reason="stolen earlier than first thought"))
    assert earlier.status_code == 201, earlier.text
