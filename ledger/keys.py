"""Party keys: secp256k1 accounts signing canonical event bytes with EIP-191 `personal_sign`.

Any Ethereum wallet or hardware key can sign a Tracemark event, and anyone can check it with
standard tools. Keys at rest are Web3 Secret Storage keystores (eth-account encrypt/decrypt).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import is_hex_address, to_checksum_address

from ledger.errors import EventInvalid, SignatureError

__all__ = [
    "LocalAccount",
    "new_account",
    "sign",
    "recover",
    "normalise_address",
    "save_keystore",
    "load_keystore",
]

_HEX_SIGNATURE = re.compile(r"(0x)?(?:[0-9a-fA-F]{2})*")  # bytes.fromhex alone would also take spaces and newlines


def new_account() -> LocalAccount:
    """A fresh random secp256k1 account."""
    return Account.create()


def sign(account: LocalAccount, message: bytes) -> str:
    """EIP-191 personal_sign over `message`; returns the 65-byte signature as 0x-hex."""
    return "0x" + account.sign_message(encode_defunct(primitive=message)).signature.hex().removeprefix("0x")


def recover(message: bytes, signature: str) -> str:
    """The checksummed address that made `signature` over `message`; SignatureError if none can."""
    if not isinstance(signature, str) or not _HEX_SIGNATURE.fullmatch(signature):
        raise SignatureError(f"signature is not 0x and hex digits without spaces: {signature!r}")
    raw = bytes.fromhex(signature.removeprefix("0x"))
    if len(raw) != 65:
        raise SignatureError(f"signature must be 65 bytes, got {len(raw)}")
    try:
        return Account.recover_message(encode_defunct(primitive=message), signature=raw)
    except Exception as exc:  # eth-keys raises several unrelated types for bad curves points
        raise SignatureError(f"signature does not recover to any key: {exc}") from exc


def normalise_address(address: str, field: str = "address") -> str:
    """Checksummed form of an Ethereum address; EventInvalid if it is not one."""
    if not isinstance(address, str) or not is_hex_address(address):
        raise EventInvalid(f"not an Ethereum address: {address!r}", field)
    return to_checksum_address(address)


def save_keystore(
    account: LocalAccount, path: Path, passphrase: str, iterations: int | None = None
) -> Path:
    """Write the account as a Web3 Secret Storage file readable only by its owner.

    `iterations` lowers the scrypt cost for throwaway demo keys; production keys keep the default.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = Account.encrypt(account.key, passphrase, iterations=iterations)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
    return path


def load_keystore(path: Path, passphrase: str) -> LocalAccount:
    """Decrypt a keystore file; a wrong passphrase is a SignatureError, not a crash."""
    try:
        data = json.loads(Path(path).read_text())
        return Account.from_key(Account.decrypt(data, passphrase))
    except (OSError, json.JSONDecodeError) as exc:
        raise SignatureError(f"cannot read keystore {path}: {exc}", code="keystore") from exc
    except ValueError as exc:
        raise SignatureError(f"cannot decrypt keystore {path}: {exc}", code="keystore") from exc
