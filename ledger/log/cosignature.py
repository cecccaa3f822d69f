"""Checkpoint cosignatures (C2SP ``tlog-cosignature``): timestamped Ed25519 and ML-DSA-44.

A cosignature is a signed-note signature line on a checkpoint by a *cosigner* (a witness, or the
log itself stamping the time it made a checkpoint): ``— <name> base64(key ID || timestamp (u64,
big-endian) || signature)``. Two types are kept apart by their key ID's type byte:

    0x04  Ed25519 over   "cosignature/v1\\n" "time <timestamp>\\n" <the whole checkpoint body>
    0x06  ML-DSA-44 over "subtree/v1\\n\\0" || name<1..255> || u64 timestamp || origin<1..255>
                         || u64 start (0 for a checkpoint) || u64 end (its size) || root

Keys use the signed-note vkey form ``<name>+<key ID hex>+<base64(type || public key)>``; private
keys are kept as ``PRIVATE+KEY+<name>+<key ID hex>+<base64(type || 32-byte seed)>``, one a line,
in a file only its owner reads. Every malformed or unverifiable input is a ``CosignatureError``.
"""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from time import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey, MLDSA44PublicKey

from ledger.errors import CheckpointError, CosignatureError
from ledger.log.checkpoint import (
    HEX8_RE,
    Checkpoint,
    check_key_name,
    decode_base64,
    parse_body,
    signature_line,
    split_note,
)

__all__ = [
    "ED25519",
    "ML_DSA_44",
    "ALGORITHMS",
    "Cosignature",
    "CosignerKey",
    "CosignerVerifier",
    "ed25519_message",
    "ml_dsa_44_message",
    "verify_cosignatures",
    "cosign",
    "load_or_create_keys",
    "load_keys",
]

ED25519 = 0x04
"""Signature type of timestamped Ed25519 checkpoint cosignatures (cosignature/v1)."""
ML_DSA_44 = 0x06
"""Signature type of timestamped ML-DSA-44 (sub)tree cosignatures (subtree/v1)."""
ALGORITHMS = {ED25519: "Ed25519", ML_DSA_44: "ML-DSA-44"}

MAX_TIMESTAMP = 2**63 - 1
"""The spec's bound on a cosignature's timestamp."""
_PUBLIC_SIZE = {ED25519: 32, ML_DSA_44: 1312}
_SIGNATURE_SIZE = {ED25519: 64, ML_DSA_44: 2420}
_SEED_SIZE = 32
_ML_DSA_LABEL = b"subtree/v1\n\0"
_ED25519_HEADER = "cosignature/v1\n"


def _algorithm(type_byte: int) -> int:
    if type_byte not in ALGORITHMS:
        raise CosignatureError(
            f"key type 0x{type_byte:02x} is not a cosignature type (0x04 Ed25519, 0x06 ML-DSA-44)"
        )
    return type_byte


def _key_id(name: str, algorithm: int, public_key: bytes) -> bytes:
    """SHA-256(name || "\\n" || type || public key)[:4], as both cosignature types require."""
    return sha256(name.encode("utf-8") + b"\n" + bytes([algorithm]) + public_key).digest()[:4]


def _check_timestamp(timestamp: object) -> int:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CosignatureError(f"cosignature timestamp must be an int in [0, 2**63 - 1], got {timestamp!r}")
    return timestamp


def _opaque8(value: str, what: str) -> bytes:
    """A TLS ``opaque<1..2^8-1>``: one length byte, then the UTF-8 bytes."""
    raw = value.encode("utf-8")
    if not 1 <= len(raw) <= 255:
        raise CosignatureError(f"{what} must be 1 to 255 bytes for an ML-DSA-44 cosignature, got {len(raw)}")
    return bytes([len(raw)]) + raw


# --- the signed messages ------------------------------------------------------------------------


def ed25519_message(checkpoint: Checkpoint, timestamp: int) -> bytes:
    """What a cosignature/v1 Ed25519 cosigner signs: header, time line, the whole body."""
    _check_timestamp(timestamp)
    return (f"{_ED25519_HEADER}time {timestamp}\n" + checkpoint.body()).encode("utf-8")


def ml_dsa_44_message(name: str, checkpoint: Checkpoint, timestamp: int) -> bytes:
    """The ``cosigned_message`` an ML-DSA-44 cosigner signs for a whole checkpoint (start 0)."""
    _check_timestamp(timestamp)
    return (
        _ML_DSA_LABEL
        + _opaque8(name, "cosigner name")
        + struct.pack(">Q", timestamp)
        + _opaque8(checkpoint.origin, "log origin")
        + struct.pack(">QQ", 0, checkpoint.size)
        + checkpoint.root
    )


def _message(algorithm: int, name: str, checkpoint: Checkpoint, timestamp: int) -> bytes:
    if algorithm == ED25519:
        return ed25519_message(checkpoint, timestamp)
    return ml_dsa_44_message(name, checkpoint, timestamp)


# --- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: who made it, with which key, and the time it signed."""

    name: str
    key_id: bytes
    algorithm: int
    timestamp: int
    line: str
    """The signature line itself, newline included, to append to the checkpoint's note."""

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, tz=UTC)


class CosignerVerifier:
    """A cosigner's public key: its name, type, key ID, and what checks its cosignatures."""

    __slots__ = ("name", "algorithm", "public_key", "key_id", "_public")

    def __init__(self, name: str, algorithm: int, public_key: bytes) -> None:
        self.name = _check_cosigner_name(name)
        self.algorithm = _algorithm(algorithm)
        if not isinstance(public_key, bytes) or len(public_key) != _PUBLIC_SIZE[algorithm]:
            got = len(public_key) if isinstance(public_key, bytes) else type(public_key).__name__
            raise CosignatureError(
                f"an {ALGORITHMS[algorithm]} public key is {_PUBLIC_SIZE[algorithm]} bytes, got {got}"
            )
        self.public_key = public_key
        self.key_id = _key_id(name, algorithm, public_key)
        try:
            self._public: Ed25519PublicKey | MLDSA44PublicKey = (
                Ed25519PublicKey.from_public_bytes(public_key)
                if algorithm == ED25519
                else MLDSA44PublicKey.from_public_bytes(public_key)
            )
        except ValueError as e:
            raise CosignatureError(f"not a valid {ALGORITHMS[algorithm]} public key") from e

    @classmethod
    def from_vkey(cls, vkey: object) -> CosignerVerifier:
        """Parse ``<name>+<key ID hex>+<base64(type || public key)>``, checking the key ID."""
        if not isinstance(vkey, str):
            raise CosignatureError(f"verifier key must be a string, got {type(vkey).__name__}")
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise CosignatureError(f"verifier key must be <name>+<key ID>+<key>, got {vkey[:80]!r}")
        name, id_hex, key_b64 = parts
        if not HEX8_RE.fullmatch(id_hex):
            raise CosignatureError(f"verifier key ID must be 8 lower-case hex digits, got {id_hex!r}")
        key = _decode(key_b64, "verifier key")
        if not key:
            raise CosignatureError("verifier key has no type byte")
        verifier = cls(name, _algorithm(key[0]), key[1:])
        if verifier.key_id.hex() != id_hex:
            raise CosignatureError(f"verifier key ID is {id_hex}, but the key hashes to {verifier.key_id.hex()}")
        return verifier

    @property
    def vkey(self) -> str:
        key = base64.b64encode(bytes([self.algorithm]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{key}"

    def verify(self, checkpoint: Checkpoint, signature: bytes) -> int:
        """The timestamp of ``signature`` (timestamp || raw signature) if it cosigns ``checkpoint``."""
        want = 8 + _SIGNATURE_SIZE[self.algorithm]
        if len(signature) != want:
            raise CosignatureError(
                f"{ALGORITHMS[self.algorithm]} cosignature by {self.name} is {len(signature)} bytes"
                f" after its key ID, want {want}"
            )
        timestamp: int = struct.unpack(">Q", signature[:8])[0]
        if timestamp > MAX_TIMESTAMP:
            raise CosignatureError(f"cosignature by {self.name} has timestamp {timestamp}, beyond 2**63 - 1")
        try:
            self._public.verify(signature[8:], _message(self.algorithm, self.name, checkpoint, timestamp))
        except InvalidSignature as e:
            raise CosignatureError(
                f"{ALGORITHMS[self.algorithm]} cosignature by {self.name} ({self.key_id.hex()}) does not verify"
            ) from e
        return timestamp

    def __repr__(self) -> str:
        return f"CosignerVerifier({self.name!r}, {ALGORITHMS[self.algorithm]}, key_id={self.key_id.hex()})"


class CosignerKey:
    """A cosigner's private key. ``generate`` one, keep ``signer_key`` secret, hand out ``verifier``."""

    __slots__ = ("_private", "_seed", "verifier")

    def __init__(self, name: str, algorithm: int, seed: bytes) -> None:
        _algorithm(algorithm)
        if not isinstance(seed, bytes) or len(seed) != _SEED_SIZE:
            raise CosignatureError(f"a cosigner private key is a {_SEED_SIZE}-byte seed")
        self._seed = seed
        self._private: Ed25519PrivateKey | MLDSA44PrivateKey = (
            Ed25519PrivateKey.from_private_bytes(seed)
            if algorithm == ED25519
            else MLDSA44PrivateKey.from_seed_bytes(seed)
        )
        self.verifier = CosignerVerifier(name, algorithm, self._private.public_key().public_bytes_raw())

    @classmethod
    def generate(cls, name: str, algorithm: int) -> CosignerKey:
        return cls(name, algorithm, os.urandom(_SEED_SIZE))

    @classmethod
    def from_signer_key(cls, skey: object) -> CosignerKey:
        """Parse ``PRIVATE+KEY+<name>+<key ID hex>+<base64(type || seed)>``, checking the key ID."""
        if not isinstance(skey, str):
            raise CosignatureError(f"signer key must be a string, got {type(skey).__name__}")
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise CosignatureError("signer key must be PRIVATE+KEY+<name>+<key ID>+<key>")
        _, _, name, id_hex, key_b64 = parts
        key = _decode(key_b64, "signer key")
        if len(key) != 1 + _SEED_SIZE:
            raise CosignatureError(f"signer key must be a type byte and a {_SEED_SIZE}-byte seed, got {len(key)} bytes")
        cosigner = cls(name, _algorithm(key[0]), key[1:])
        if cosigner.verifier.key_id.hex() != id_hex:
            raise CosignatureError(
                f"signer key ID is {id_hex!r}, but the key hashes to {cosigner.verifier.key_id.hex()}"
            )
        return cosigner

    @property
    def signer_key(self) -> str:
        """The ``PRIVATE+KEY+...`` string. Keep it secret."""
        v = self.verifier
        seed = base64.b64encode(bytes([v.algorithm]) + self._seed).decode("ascii")
        return f"PRIVATE+KEY+{v.name}+{v.key_id.hex()}+{seed}"

    @property
    def name(self) -> str:
        return self.verifier.name

    @property
    def vkey(self) -> str:
        return self.verifier.vkey

    def cosign(self, checkpoint: Checkpoint, timestamp: int | None = None) -> str:
        """A cosignature line on ``checkpoint``, timestamped now unless ``timestamp`` is given."""
        stamp = _check_timestamp(int(time()) if timestamp is None else timestamp)
        v = self.verifier
        signature = self._private.sign(_message(v.algorithm, v.name, checkpoint, stamp))
        return signature_line(v.name, v.key_id, struct.pack(">Q", stamp) + signature)

    def __repr__(self) -> str:
        return f"CosignerKey({self.verifier!r})"


def _check_cosigner_name(name: object) -> str:
    try:
        return check_key_name(name)
    except CheckpointError as e:
        raise CosignatureError(str(e)) from e


def _decode(text: str, what: str) -> bytes:
    try:
        return decode_base64(text, what)
    except CheckpointError as e:
        raise CosignatureError(str(e)) from e


# --- notes --------------------------------------------------------------------------------------


def cosign(checkpoint: Checkpoint, keys: Iterable[CosignerKey], timestamp: int | None = None) -> str:
    """The cosignature lines of every key in ``keys`` on ``checkpoint``, all with one timestamp."""
    stamp = int(time()) if timestamp is None else timestamp
    return "".join(key.cosign(checkpoint, stamp) for key in keys)


def verify_cosignatures(
    note: str, verifiers: Sequence[CosignerVerifier]
) -> tuple[Checkpoint, list[Cosignature]]:
    """The checkpoint in ``note`` and its cosignatures by ``verifiers`` (the log's own signature is
    NOT checked here: see ``ledger.log.checkpoint.verify_checkpoint``).

    As signed-note requires, lines by unknown keys (another name or key ID) are ignored and a
    line whose name and key ID match a known key must verify, or the whole note is refused.
    An empty list means no known cosigner signed: whether that is enough is the caller's policy.
    """
    try:
        text, signatures = split_note(note)
        checkpoint = parse_body(text)
    except CheckpointError as e:
        raise CosignatureError(str(e)) from e
    known = {(v.name, v.key_id): v for v in verifiers}
    found = []
    for name, key_id, signature in signatures:
        verifier = known.get((name, key_id))
        if verifier is None:
            continue
        timestamp = verifier.verify(checkpoint, signature)
        line = signature_line(name, key_id, signature)
        found.append(Cosignature(name, key_id, verifier.algorithm, timestamp, line))
    return checkpoint, found


# --- keys at rest -------------------------------------------------------------------------------


def load_or_create_keys(path: Path, name: str, algorithms: Sequence[int]) -> list[CosignerKey]:
    """The cosigner keys kept in ``path`` (one signer key a line), made once and kept 0600.

    A key of each of ``algorithms`` the file lacks is generated and added, so a home made before
    a type was used gains it without losing the keys it has.
    """
    keys = load_keys(path)
    missing = [a for a in algorithms if a not in {k.verifier.algorithm for k in keys}]
    if missing:
        keys += [CosignerKey.generate(name, a) for a in missing]
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("".join(k.signer_key + "\n" for k in keys))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    order = {a: i for i, a in enumerate(algorithms)}
    return sorted(keys, key=lambda k: order.get(k.verifier.algorithm, len(order)))


def load_keys(path: Path) -> list[CosignerKey]:
    """The cosigner keys in ``path``; none if the file does not exist."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise CosignatureError(f"cannot read cosigner keys at {path}: {e}") from e
    return [CosignerKey.from_signer_key(line) for line in text.splitlines() if line.strip()]
