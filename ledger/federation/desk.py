"""The log's `federation` desk: the party whose server-held key records what arrives from peer logs.

A peer's signed request is not a party's event of this log, so it cannot enter the log under the
peer's signature: the server records it as an event of its own `federation` party (role
`federation`, which may sign only such arrivals), with a managed key (`ledger.managed_keys`).
An admin opens the desk once, when the log first peers (`tracemark peers add` does it): the
party's registration is signed by that admin, so who let the server sign, and when, is on the record.
"""

from __future__ import annotations

from typing import Any

from ledger.config import Settings
from ledger.errors import NotFound, StoreError
from ledger.log.codec import format_time
from ledger.log.keys import LocalAccount, new_account
from ledger.log.signatures import sign_event
from ledger.managed_keys import load_managed_key, managed_key_path, save_managed_key
from ledger.store.ledger import Ledger

__all__ = ["FEDERATION_PARTY", "federation_account", "open_desk"]

FEDERATION_PARTY = "federation"


def open_desk(ledger: Ledger, settings: Settings, admin: LocalAccount, iterations: int | None = None) -> bool:
    """Register the `federation` party with a new managed key, signed by `admin` (or add it a key when
    this server home has none); nothing when both are there. True when something was appended."""
    if managed_key_path(settings, FEDERATION_PARTY).exists() and _registered(ledger):
        return False
    actor = ledger.key_owner(admin.address)
    account = new_account()
    now = format_time(ledger.clock())
    event: dict[str, Any]
    if _registered(ledger):
        event = {"type": "add_key", "actor": actor, "time": now, "party": FEDERATION_PARTY, "address": account.address}
    else:
        country = ledger.party(actor).country
        event = {"type": "register_party", "actor": actor, "time": now, "party": {
            "id": FEDERATION_PARTY, "name": f"{ledger.origin} federation desk"[:120], "role": "federation", "country": country,
            "addresses": [account.address]}}
    ledger.append(sign_event(admin, event, origin=ledger.origin))
    save_managed_key(settings, FEDERATION_PARTY, account, iterations=iterations)
    return True


def _registered(ledger: Ledger) -> bool:
    try:
        ledger.party(FEDERATION_PARTY)
    except NotFound:
        return False
    return True


def federation_account(settings: Settings) -> LocalAccount:
    """The desk's managed key; StoreError when this server has none (no admin opened the desk here)."""
    account = load_managed_key(settings, FEDERATION_PARTY)
    if account is None:
        raise StoreError(f"no {FEDERATION_PARTY} desk key at {managed_key_path(settings, FEDERATION_PARTY)}: "
                         "an admin opens it with `tracemark peers add` on this server's home")
    return account
