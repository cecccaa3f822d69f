"""Managed party keys: keys the server holds for a party, so that it signs that party's events.

The key is a Web3 Secret Storage keystore under `<home>/managed/<party>.json`, encrypted with a
random passphrase kept beside it (`<home>/managed/passphrase`, mode 0600). It signs for the party
only once the log holds it as one of the party's keys (`add_key`, or the party's registration).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ledger.config import Settings
from ledger.log.keys import LocalAccount, load_keystore, save_keystore

__all__ = ["managed_key_path", "load_managed_key", "save_managed_key"]


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


def save_managed_key(settings: Settings, party_id: str, account: LocalAccount, iterations: int | None = None) -> None:
    """Keep `account` as the party's managed key, encrypted with the home's managed-key passphrase."""
    save_keystore(account, managed_key_path(settings, party_id), _passphrase(settings), iterations=iterations)


def load_managed_key(settings: Settings, party_id: str) -> LocalAccount | None:
    """The party's managed key, or None when the party signs its own events."""
    path = managed_key_path(settings, party_id)
    if not path.exists():
        return None
    return load_keystore(path, _passphrase(settings))
