"""The `federation` party: how this log signs what its peers tell it (a hit notice on one of its items).

Its key is a managed key (`api.managed`), held by the server under `<home>/managed/federation.json`,
because a peer's notice arrives at any hour with no officer to sign it. The party is registered,
with that key, by the admin who adds the first peer (`tracemark peers add`), so the registration
is signed by a person like every other; its role, `federation`, lets it make nothing but what peers report.
"""

from __future__ import annotations

from api.managed import load_managed_key, managed_key_path, save_managed_key
from ledger import Ledger, LocalAccount, NotFound, Settings, format_time, new_account, sign_event

__all__ = ["FEDERATION_PARTY", "federation_account"]

FEDERATION_PARTY = "federation"


def federation_account(ledger: Ledger, settings: Settings, authoriser: LocalAccount | None = None) -> LocalAccount | None:
    """The federation party's key; made and registered first (signed by `authoriser`, an admin) when
    the log has no federation party yet. None when it has none and no authoriser is given."""
    try:
        ledger.party(FEDERATION_PARTY)
    except NotFound:
        if authoriser is None:
            return None
        admin = ledger.party(ledger.key_owner(authoriser.address))
        account = new_account()
        party = {"id": FEDERATION_PARTY, "name": f"Federation desk of {ledger.origin}"[:120], "role": "federation",
                 "country": admin.country, "addresses": [account.address]}
        event = {"type": "register_party", "actor": admin.id, "time": format_time(ledger.clock()), "party": party}
        ledger.append(sign_event(authoriser, event, origin=ledger.origin))
        save_managed_key(settings, FEDERATION_PARTY, account)
        return account
    if not managed_key_path(settings, FEDERATION_PARTY).exists():
        return None
    return load_managed_key(settings, FEDERATION_PARTY)
