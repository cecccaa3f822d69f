"""Who signed an event, and whether that key may sign for the acting party at that time."""

from __future__ import annotations

from typing import Any

from ledger.domain import events as ev
from ledger.domain.rules import View
from ledger.errors import SignatureError
from ledger.log.codec import parse_time
from ledger.log.keys import LocalAccount, normalise_address, recover, sign
from ledger.store.tables import Party

__all__ = ["authenticate_event", "sign_event"]


def authenticate_event(event: ev.Event, signed: bytes, signer: str, signature: str, view: View, recorded_at: str,
                 recovered: str | None = None) -> Party:
    """Return the acting party if `signature` over `signed` is by a live key of `event.actor`.

    A revoked key is refused for events it claims to sign at or after the revocation time, and
    for any event recorded after it, so a stolen key cannot be used by backdating events.
    `recovered` is the signature's address if it was recovered already (`ledger.store.recovery`).
    """
    address = recover(signed, signature) if recovered is None else recovered
    claimed = normalise_address(signer, "signer")
    if address != claimed:
        raise SignatureError(f"the signature was made by {address}, not by the named signer {claimed}")
    if _is_genesis(event, address, view):
        return Party(id=event.actor, name=event.party.name, role="admin", country=event.party.country, registered_seq=0)  # type: ignore[union-attr]
    key = view.key(address)
    if key is None:
        raise SignatureError(f"{address} is not a registered key", code="unknown_key")
    if key.party_id != event.actor:
        raise SignatureError(f"{address} is a key of {key.party_id}, not of {event.actor}", code="wrong_key")
    if key.revoked_from is not None:
        revoked = parse_time(key.revoked_from)
        if parse_time(event.time) >= revoked or parse_time(recorded_at) >= revoked:
            raise SignatureError(f"key {address} of {key.party_id} is revoked from {key.revoked_from}", code="key_revoked")
    party = view.party(event.actor)
    if party is None:  # a key row always has its party; a damaged projection says so here
        raise SignatureError(f"party {event.actor} is not registered", code="unknown_key")
    return party


def _is_genesis(event: ev.Event, address: str, view: View) -> bool:
    """The first event of a log: an admin registering itself with the key that signs it."""
    return (
        isinstance(event, ev.RegisterParty)
        and not view.has_parties()
        and event.party.role == "admin"
        and event.party.id == event.actor
        and address in {normalise_address(a) for a in event.party.addresses}
    )


def sign_event(account: LocalAccount, event: dict[str, Any], personal: dict[str, str] | None = None, *,
               origin: str) -> dict[str, Any]:
    """Client side: the envelope a party posts for `event` to the log named `origin`.

    The origin joins the signed bytes, so the envelope is refused by any other log (`wrong_log`)
    even where the same key is registered.
    """
    bound = {**event, "origin": origin}
    envelope: dict[str, Any] = {
        "event": bound,
        "signer": account.address,
        "signature": sign(account, ev.event_bytes(bound)),
    }
    if personal is not None:
        envelope["personal"] = personal
    return envelope
