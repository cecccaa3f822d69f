"""Managed party keys: a party may let the server sign its scan (`inspect`) events.

The keystore is `ledger.managed_keys`'s; it becomes a key of the party on the log through an
`add_key` event signed by the party itself or an admin.
"""

from __future__ import annotations

from ledger import Ledger, LocalAccount, Settings, format_time, load_managed_key, managed_key_path, new_account, save_managed_key, sign_event

__all__ = ["managed_key_path", "create_managed_key", "load_managed_key", "cached_managed_key"]


def create_managed_key(
    ledger: Ledger, settings: Settings, party_id: str, authoriser: LocalAccount, iterations: int | None = None
) -> str:
    """Make a server-held key for `party_id`, add it on the log signed by `authoriser`, return its address.

    `authoriser` is a live key of the party or of an admin; the ledger's rules decide.
    """
    path = managed_key_path(settings, party_id)
    if path.exists():
        raise FileExistsError(f"{path} exists: party {party_id} already has a managed key")
    ledger.party(party_id)
    actor = ledger.key_owner(authoriser.address)
    account = new_account()
    event = {"type": "add_key", "actor": actor, "time": format_time(ledger.clock()), "party": party_id,
             "address": account.address}
    ledger.append(sign_event(authoriser, event, origin=ledger.origin))
    save_managed_key(settings, party_id, account, iterations=iterations)
    return account.address


def cached_managed_key(cache: dict[str, LocalAccount | None], settings: Settings, party_id: str) -> LocalAccount | None:
    """`load_managed_key` once per process and party (scrypt is slow on purpose), kept in `cache`."""
    if party_id not in cache:
        cache[party_id] = load_managed_key(settings, party_id)
    return cache[party_id]
