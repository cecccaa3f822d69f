"""Checking a QR code's signed claim against the log itself (the online side of the scanner).

`api` plugs `marking_verifier(ledger)` into the scan as its `MarkingVerifier`: the code must name
the scanned item, carry the facts the log holds for it, be signed by a key of its marker and, from
version 3, name this log as its issuer (a local item's code naming another log is no genuine code).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ledger import Finding, Item, Ledger, LedgerError, PartyKey, Permit, SignatureError
from scanner.errors import MalformedCode
from scanner.logs import ledger_log_id
from scanner.payload import facts_of_item, normal_host, parse_payload, recover_marker

__all__ = ["claim_problem", "foreign_host", "marking_verifier"]


class _Code(Protocol):
    raw: str


def claim_problem(ledger: Ledger, text: str, item: Item, log_id: str | None = None) -> str | None:
    """Why code `text` is not a genuine code of `item`, issued by the log whose key ID is `log_id`
    (default: the ledger's own log key's), or None when it is."""
    log_id = log_id or ledger_log_id(ledger)
    try:
        payload = parse_payload(text)
        address = recover_marker(payload)
    except MalformedCode as exc:
        return exc.reason
    except SignatureError as exc:
        return exc.detail
    if payload.item != item.uid:
        return f"the code names item {payload.item}, not {item.uid}"
    if payload.log_id is not None and log_id is not None and payload.log_id != log_id:
        return f"the code names the log with key ID {payload.log_id} as its issuer, not this log ({log_id})"
    with ledger.reading() as session:
        key = session.get(PartyKey, address)
        permit = session.get(Permit, item.permit_number) if item.permit_number else None
    try:
        facts = facts_of_item(item, permit.issuing_country if permit else None)
    except (MalformedCode, LedgerError) as exc:
        return str(exc)
    if payload.facts != facts:
        return f"the code's facts {payload.facts.fields()} differ from the marking {facts.fields()}"
    if key is None or key.party_id != item.marker:
        return f"the code is signed by {address}, not by a key of {item.marker}, which marked the item"
    return None


def foreign_host(code_host: str, log_host: str) -> Finding | None:
    """SIGNATURE_INVALID when a code points to another host than `log_host`, the one this log's codes
    point to (online: the server's public host; offline: the bundle's); None when it is that host.

    A code names the log that vouches for it, and its signature covers that name: a code of
    another log is not this log's to judge, however well its signature verifies.
    """
    if normal_host(code_host) == normal_host(log_host):
        return None
    return Finding("SIGNATURE_INVALID", f"the code points to {normal_host(code_host)}, not to {normal_host(log_host)}, "
                                        "the host of this log's codes")


def marking_verifier(ledger: Ledger) -> Callable[[_Code, Item], bool]:
    """The API's `MarkingVerifier`: True when the scanned code's claim holds for the item."""
    log_id = ledger_log_id(ledger)
    return lambda code, item: claim_problem(ledger, code.raw, item, log_id) is None
