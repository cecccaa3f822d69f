"""Settings from the environment and the factory that opens a ledger from them.

Nothing is opened at import time: callers (CLI, API, tests) build a `Settings` and open
what they need, so every test picks its own database and key folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from ledger.domain.rules import REPORTING_WINDOW
from ledger.errors import StoreError
from ledger.log.checkpoint import LogKey
from ledger.log.cosignature import ED25519, ML_DSA_44, CosignerKey, load_keys, load_or_create_keys
from ledger.store.db import DEFAULT_URL, missing_sqlite_file, open_database
from ledger.store.ledger import Ledger
from ledger.store.migrate import upgrade

__all__ = ["Settings", "open_ledger", "init_log", "positive_duration"]

DEFAULT_ORIGIN = "tracemark.local/log"
_DURATION = TypeAdapter(timedelta)


def reporting_window(text: str) -> timedelta:
    """TRACEMARK_REPORTING_WINDOW's value: a positive ISO 8601 duration such as P7D or PT36H."""
    return positive_duration("TRACEMARK_REPORTING_WINDOW", text)


def positive_duration(variable: str, text: str) -> timedelta:
    """A setting's positive ISO 8601 duration such as P7D or PT36H; StoreError naming `variable` otherwise."""
    try:
        window = _DURATION.validate_python(text) if text.startswith("P") else None  # pydantic would take "7" as seconds
    except ValidationError:
        window = None
    if window is None or window <= timedelta(0):
        raise StoreError(f"{variable}={text!r} is not a positive ISO 8601 duration such as P7D or PT36H")
    return window


@dataclass(frozen=True)
class Settings:
    """Where the database is, where the log's keys live, and the log's name (its origin)."""

    db_url: str = DEFAULT_URL
    home: Path = Path(".tracemark")
    origin: str = DEFAULT_ORIGIN
    reporting_window: timedelta = REPORTING_WINDOW  # how long before the log records it a live event may be dated
    witness_name: str | None = None  # the key name of this server's witness keys (default: <origin>/witness)
    policy_path: Path | None = None  # the verifier policy (C2SP tlog-policy) this server checks proofs under; None: the log's key alone

    @classmethod
    def from_env(cls, db_url: str | None = None, home: Path | None = None) -> "Settings":
        return cls(
            db_url=db_url or os.environ.get("TRACEMARK_DB", DEFAULT_URL),
            home=home or Path(os.environ.get("TRACEMARK_HOME", ".tracemark")),
            origin=os.environ.get("TRACEMARK_ORIGIN", DEFAULT_ORIGIN),
            reporting_window=reporting_window(os.environ.get("TRACEMARK_REPORTING_WINDOW", "P7D")),
            witness_name=os.environ.get("TRACEMARK_WITNESS_NAME") or None,
            policy_path=Path(os.environ["TRACEMARK_POLICY"]) if os.environ.get("TRACEMARK_POLICY") else None,
        )

    @property
    def log_key_path(self) -> Path:
        return self.home / "log.key"

    @property
    def verifier_key_path(self) -> Path:
        return self.home / "log.pub"

    @property
    def log_cosigner_path(self) -> Path:
        """The log's own cosignature/v1 key, which stamps the time it made each checkpoint."""
        return self.home / "log-cosigner.key"

    @property
    def witness_key_path(self) -> Path:
        """This server's witness keys (Ed25519 and ML-DSA-44), cosigning other logs' checkpoints."""
        return self.home / "witness.key"

    def witness_keys(self) -> list[CosignerKey]:
        """The witness keys, made on first use: Ed25519 first, then ML-DSA-44."""
        name = self.witness_name or f"{self.origin}/witness"
        return load_or_create_keys(self.witness_key_path, name, [ED25519, ML_DSA_44])

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    def verifier_key(self) -> str:
        """The log's public verifier key (C2SP note format), as kept beside the private key."""
        try:
            return self.verifier_key_path.read_text().strip()
        except OSError as exc:
            raise StoreError(f"no verifier key at {self.verifier_key_path}: run `tracemark init` first") from exc


def init_log(settings: Settings) -> Ledger:
    """Create the log key (once) and the schema; safe to run again. A new home is its owner's
    alone (0700): it keeps the log's private key and the parties' keystores."""
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not settings.log_key_path.exists():
        key = LogKey.generate(settings.origin)
        fd = os.open(settings.log_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key.signer_key + "\n")
        settings.verifier_key_path.write_text(key.verifier_key + "\n")
    load_or_create_keys(settings.log_cosigner_path, settings.origin, [ED25519])
    settings.witness_keys()
    ledger = _ledger(settings)
    upgrade(ledger.db)
    return ledger


def open_ledger(settings: Settings) -> Ledger:
    """The ledger on `settings.db_url`, with the log key when this machine holds it; an SQLite file
    that is not there is refused rather than made empty (`init_log` makes logs)."""
    missing = missing_sqlite_file(settings.db_url)
    if missing is not None:
        raise StoreError(f"no log at {missing}: make one with `tracemark init` or `tracemark demo`, or give --db")
    return _ledger(settings)


def _ledger(settings: Settings) -> Ledger:
    key = None
    if settings.log_key_path.exists():
        key = LogKey.from_signer_key(settings.log_key_path.read_text().strip())
    cosigner = next(iter(load_keys(settings.log_cosigner_path)), None) if key is not None else None
    return Ledger(open_database(settings.db_url), origin=settings.origin, log_key=key, reporting_window=settings.reporting_window,
                  log_cosigner=cosigner)
