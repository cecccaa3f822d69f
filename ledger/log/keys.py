"""Party keys: secp256k1 accounts signing canonical event bytes with EIP-191 `personal_sign`.

Any Ethereum wallet or hardware key can sign a Tracemark event, and anyone can check it with
standard tools. Keys at rest are Web3 Secret Storage keystores (eth-account encrypt/decrypt).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import cast

import coincurve
import sha3
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import is_hex_address, to_checksum_address

from ledger.bounded import Bounded
from ledger.errors import EventInvalid, SignatureError
from ledger.files import write_private

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

__all__ = [
    "LocalAccount",
    "new_account",
    "sign",
    "recover",
    "signature_bytes",
    "normalise_signature",
    "eip191_digest",
    "keccak_256",
    "normalise_address",
    "save_keystore",
    "load_keystore",
]

_CANONICAL_SIGNATURE = re.compile(r"0x[0-9a-f]{130}")
_HEX_SIGNATURE = re.compile(r"(0x)?(?:[0-9a-fA-F]{2})*")  # bytes.fromhex alone would also take spaces and newlines


def new_account() -> LocalAccount:
    """A fresh random secp256k1 account."""
    return cast(LocalAccount, Account.create())  # eth_account's combomethods are untyped


def sign(account: LocalAccount, message: bytes) -> str:
    """EIP-191 personal_sign over `message`; returns the 65-byte signature as 0x-hex.

    The signature eth-account's `sign_message` makes, byte for byte (both are RFC 6979, checked in
    `tests/ledger/log/test_keys.py`), made straight on libsecp256k1: eth-account builds key objects
    on every call and took 200 us, as long as the rest of a server-signed scan's append.
    """
    digest = eip191_digest(message)
    raw = _secp256k1_key(bytes(account.key)).sign_recoverable(digest, hasher=None)
    signature = "0x" + raw[:64].hex() + f"{raw[64] + 27:02x}"
    _made_here.update({(digest, signature): account.address})
    return signature


_made_here: Bounded[tuple[bytes, str], str] = Bounded(4096)
"""The addresses of the last signatures this process made, by (digest, signature). A server-signed
event (an inspection with a managed key) was recovered again when it was appended, a twentieth of
a scan's CPU; only a signature made here, over that digest, is found, any other is recovered."""


@lru_cache(maxsize=64)
def _secp256k1_key(secret: bytes) -> coincurve.PrivateKey:
    return coincurve.PrivateKey(secret)


def eip191_digest(message: bytes) -> bytes:
    """Keccak-256 of the EIP-191 `personal_sign` prefix and message: what the key actually signs."""
    return keccak_256(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)


def recover(message: bytes, signature: str) -> str:
    """The checksummed address that made `signature` over `message`; SignatureError if none can.

    This is the append and audit hot path, so it calls libsecp256k1 (coincurve) directly;
    `tests/ledger/log/test_keys.py` checks it agrees with eth-account's `recover_message`.
    """
    digest = eip191_digest(message)
    known = _made_here.get((digest, signature))
    if known is not None:
        return known
    raw = signature_bytes(signature)
    r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    if v not in (0, 1, 27, 28):
        raise SignatureError(f"signature recovery id v={v} is not one of 0, 1, 27, 28")
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise SignatureError("signature r or s is out of range")
    try:
        public = coincurve.PublicKey.from_signature_and_message(raw[:64] + bytes([v % 27]), digest, hasher=None)
    except ValueError as exc:
        raise SignatureError(f"signature does not recover to any key: {exc}") from exc
    return _address_of(public.format(compressed=False)[1:])


def signature_bytes(signature: str) -> bytes:
    """The 65 bytes of a hex signature (0x optional, either case); SignatureError if it is not one."""
    if not isinstance(signature, str) or not _HEX_SIGNATURE.fullmatch(signature):
        raise SignatureError(f"signature is not 0x and hex digits without spaces: {signature!r}")
    raw = bytes.fromhex(signature.removeprefix("0x"))
    if len(raw) != 65:
        raise SignatureError(f"signature must be 65 bytes, got {len(raw)}")
    return raw


def normalise_signature(signature: str) -> str:
    """The one spelling of a signature the log keeps: 0x and lower-case hex, as eth-account prints it."""
    if isinstance(signature, str) and _CANONICAL_SIGNATURE.fullmatch(signature):
        return signature  # the usual case, checked without decoding it
    return "0x" + signature_bytes(signature).hex()


@lru_cache(maxsize=8192)
def _address_of(public_key: bytes) -> str:
    return to_checksum_address(keccak_256(public_key)[-20:])


@lru_cache(maxsize=8192)
def _checksummed(address: str) -> str | None:
    return to_checksum_address(address) if is_hex_address(address) else None


def normalise_address(address: str, field: str = "address") -> str:
    """Checksummed form of an Ethereum address; EventInvalid if it is not one."""
    checked = _checksummed(address) if isinstance(address, str) else None
    if checked is None:
        raise EventInvalid(f"not an Ethereum address: {address!r}", field)
    return checked


def save_keystore(
    account: LocalAccount, path: Path, passphrase: str, iterations: int | None = None
) -> Path:
    """Write the account as a Web3 Secret Storage file readable only by its owner.

    `iterations` lowers the scrypt cost for throwaway demo keys; production keys keep the default.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = Account.encrypt(account.key, passphrase, iterations=iterations)
    return write_private(path, json.dumps(data))


def load_keystore(path: Path, passphrase: str) -> LocalAccount:
    """Decrypt a keystore file; a wrong passphrase is a SignatureError, not a crash."""
    try:
        data = json.loads(Path(path).read_text())
        return cast(LocalAccount, Account.from_key(Account.decrypt(data, passphrase)))  # untyped, as above
    except (OSError, json.JSONDecodeError) as exc:
        raise SignatureError(f"cannot read keystore {path}: {exc}", code="keystore") from exc
    except ValueError as exc:
        raise SignatureError(f"cannot decrypt keystore {path}: {exc}", code="keystore") from exc


def keccak_256(data: bytes) -> bytes:
    """Ethereum's Keccak-256 (not SHA3-256), from safe-pysha3: a quarter of pycryptodome's cost per call."""
    digest: bytes = sha3.keccak_256(data).digest()  # safe-pysha3 has no types
    return digest
