"""Personal data kept off the log: a salted commitment in the entry, the clear text beside it."""

from __future__ import annotations

import hmac
import secrets

from ledger.errors import EventInvalid
from ledger.log.codec import canonical, sha256

__all__ = ["commit", "check_opening"]


def commit(name: str, address: str, salt: str | None = None) -> tuple[str, str]:
    """Return (commitment hex, salt hex) for an owner's name and address.

    The 32-byte random salt makes the commitment useless for guessing names once the clear
    text is erased, while whoever kept the opening can still prove it.
    """
    salt = salt if salt is not None else secrets.token_hex(32)
    digest = sha256(canonical({"address": address, "name": name, "salt": salt}))
    return digest.hex(), salt


def check_opening(commitment: str, opening: dict[str, str] | None) -> dict[str, str]:
    """The clear data (salt, name, address) must open the commitment carried in the event."""
    if opening is None:
        raise EventInvalid("a sale to a private owner needs the owner's data (salt, name, address)", "personal")
    if set(opening) != {"salt", "name", "address"} or not all(isinstance(v, str) and v for v in opening.values()):
        raise EventInvalid("give exactly salt, name and address as non-empty strings", "personal")
    expected, _ = commit(opening["name"], opening["address"], opening["salt"])
    if not hmac.compare_digest(expected, commitment):
        raise EventInvalid("the owner's data does not open owner_commitment", "personal")
    return opening
