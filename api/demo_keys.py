"""API keys for the demo parties, so `make run` hands a newcomer working credentials.

Written to `<home>/api-keys.json` (mode 0600). Customs and police also get managed keys, so
their scans are recorded without a wallet, and the investigator one, so its decisions on the
questions page are; the demo admin's keystore authorises them.

Keys, managed keys and labels belong to the log they were made on: `<home>/demo-log.json` names that
log (its origin and first entry), and files made for another log (say a demo database deleted and
seeded again) are discarded and made again rather than handed out to answer 401.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from api.keys import create_api_key
from api.managed import create_managed_key, managed_key_path
from ledger import DEMO_PASSPHRASE, Ledger, Settings, load_keystore, write_private

__all__ = ["api_keys_path", "seed_demo_api_keys", "demo_files_current", "forget_demo_files", "DEMO_ADMIN", "DEMO_LABELS"]

DEMO_ADMIN = "registry"
DEMO_LABELS = "demo-labels.pdf"
_SCANNERS = ("customs", "police", "investigator")


def api_keys_path(settings: Settings) -> Path:
    return settings.home / "api-keys.json"


def _identity_path(settings: Settings) -> Path:
    return settings.home / "demo-log.json"


def _log_identity(ledger: Ledger) -> dict[str, str]:
    """What tells one log from another made with the same home: its origin and the hash of its first entry."""
    return {"origin": ledger.origin, "first_entry": ledger.root(1).hex() if ledger.size() else ""}


def demo_files_current(ledger: Ledger, settings: Settings) -> bool:
    """Whether the demo's API keys (and labels) exist and were made for this very log."""
    identity = _identity_path(settings)
    if not (api_keys_path(settings).exists() and identity.exists()):
        return False
    try:
        return bool(json.loads(identity.read_text()) == _log_identity(ledger))
    except ValueError:
        return False


def forget_demo_files(settings: Settings) -> None:
    """Delete the demo's API keys, labels and the demo parties' managed keys: they belong to another log."""
    parties: dict[str, Any] = json.loads((settings.keys_dir / "parties.json").read_text())
    stale = [api_keys_path(settings), _identity_path(settings), settings.home / DEMO_LABELS]
    stale += [managed_key_path(settings, party_id) for party_id in parties]
    for path in stale:
        path.unlink(missing_ok=True)


def seed_demo_api_keys(ledger: Ledger, settings: Settings) -> dict[str, dict[str, Any]]:
    """One API key per demo party (and managed keys for scanners), written to `api_keys_path`."""
    parties: dict[str, dict[str, Any]] = json.loads((settings.keys_dir / "parties.json").read_text())
    admin = load_keystore(Path(parties[DEMO_ADMIN]["keystore"]), DEMO_PASSPHRASE)
    index: dict[str, dict[str, Any]] = {}
    for party_id, info in parties.items():
        issued = create_api_key(ledger, party_id, "demo")
        managed = None
        if info["role"] in _SCANNERS:
            if managed_key_path(settings, party_id).exists():
                managed = "existing"
            else:
                managed = create_managed_key(ledger, settings, party_id, admin, iterations=2**10)
        index[party_id] = {"role": info["role"], "country": info["country"], "api_key": issued.token,
                           "keystore": info["keystore"], "managed_key": managed}
    path = api_keys_path(settings)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(index, handle, indent=2)
        handle.write("\n")
    write_private(_identity_path(settings), json.dumps(_log_identity(ledger)) + "\n")
    return index
