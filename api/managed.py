"""Managed party keys: a party may let the server sign its scan (`inspect`) events.

The key is a Web3 Secret Storage keystore under `<home>/managed/<party>.json`, encrypted with
a random passphrase kept beside it (`<home>/managed/passphrase`, mode 0600). It becomes a key of
the party on the log through an `add_key` event signed by the party itself or an admin.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ledger import Ledger, LocalAccount, Settings, format_time, load_keystore, new_account, save_keystore, sign_event

__all__ = ["managed_key_path", "create_managed_key", "save_managed_key", "load_managed_key", "cached_managed_key"]


def managed_key_path(settings: Settings, party_id: str) -> Path:
    return settings.home / "managed" / f"{party_id}.json"


def _passphrase(settings: Settings) -> str:
    path = settings.home / "managed" / "passphrase"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


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
    save_managed_key(settings, party_id, account, iterations)
    return account.address


def save_managed_key(settings: Settings, party_id: str, account: LocalAccount, iterations: int | None = None) -> None:
    """Keep `account` as the party's managed key (encrypted with the home's managed passphrase)."""
    save_keystore(account, managed_key_path(settings, party_id), _passphrase(settings), iterations=iterations)


def load_managed_key(settings: Settings, party_id: str) -> LocalAccount | None:
    """The party's managed key, or None when the party signs its own events."""
    path = managed_key_path(settings, party_id)
    if not path.exists():
        return None
    return load_keystore(path, _passphrase(settings))


def cached_managed_key(cache: dict[str, LocalAccount | None], settings: Settings, party_id: str) -> LocalAccount | None:
    """`load_managed_key` once per process and party (scrypt is slow on purpose), kept in `cache`."""
    if party_id not in cache:
        cache[party_id] = load_managed_key(settings, party_id)
    return cache[party_id]
