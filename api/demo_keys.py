"""API keys for the demo parties, so `make run` hands a newcomer working credentials.

Written to `<home>/api-keys.json` (mode 0600). Customs and police also get managed keys, so
their scans are recorded without a wallet, and the investigator one, so its decisions on the
questions page are; the demo admin's keystore authorises them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from api.keys import create_api_key
from api.managed import create_managed_key, managed_key_path
from ledger.config import Settings
from ledger.demo import DEMO_PASSPHRASE
from ledger.log.keys import load_keystore
from ledger.store.ledger import Ledger

__all__ = ["api_keys_path", "seed_demo_api_keys", "DEMO_ADMIN"]

DEMO_ADMIN = "registry"
_SCANNERS = ("customs", "police", "investigator")


def api_keys_path(settings: Settings) -> Path:
    return settings.home / "api-keys.json"


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
    return index
